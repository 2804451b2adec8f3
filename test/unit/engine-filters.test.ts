import { describe, expect, test } from "bun:test";
import { listsStopped, matches, parseFilters } from "../../src/engine/filters.ts";
import type { ContainerRecord } from "../../src/engine/records.ts";

const rec = {
  id: "abcdef0123456789",
  name: "web-1",
  image: "busybox",
  imageId: "sha256:feedbeef",
  network: "front",
  networks: [{ network: "front" }],
  hostConfig: { networkMode: "front" },
  config: { labels: { team: "a", tier: "" } },
  mounts: [{ type: "volume", name: "data", destination: "/data" }],
} as unknown as ContainerRecord;

describe("ps --filter", () => {
  test("values of one key are alternatives; keys must all hold", () => {
    const f = parseFilters(["status=running", "status=paused", "label=team=a"]);
    expect(matches(f, { rec, state: "paused" })).toBe(true);
    expect(matches(f, { rec, state: "exited", exitCode: 0 })).toBe(false);
    expect(matches(parseFilters(["label=team=b"]), { rec, state: "running" })).toBe(false);
    expect(matches(parseFilters(["label=tier"]), { rec, state: "running" })).toBe(true);
  });

  test("id prefix, name substring, ancestor by name or id prefix, network, volume by name or path, exited code", () => {
    const yes = [
      "id=abcd",
      "name=web",
      "ancestor=busybox",
      "ancestor=feedb",
      "ancestor=sha256:feed",
      "network=front",
      "volume=data",
      "volume=/data",
    ];
    for (const f of yes) expect(matches(parseFilters([f]), { rec, state: "running" })).toBe(true);
    const no = ["id=bcd", "name=db", "ancestor=alpine", "network=back", "volume=/other"];
    for (const f of no) expect(matches(parseFilters([f]), { rec, state: "running" })).toBe(false);
    expect(matches(parseFilters(["exited=3"]), { rec, state: "exited", exitCode: 3 })).toBe(true);
    expect(matches(parseFilters(["exited=3"]), { rec, state: "running" })).toBe(false);
  });

  test("restart-policy: the policy's name, no for none", () => {
    const always = {
      ...rec,
      hostConfig: { ...rec.hostConfig, restartPolicy: { name: "always", maximumRetryCount: 0 } },
    } as ContainerRecord;
    expect(matches(parseFilters(["restart-policy=always"]), { rec: always, state: "exited" })).toBe(true);
    expect(matches(parseFilters(["restart-policy=no"]), { rec: always, state: "exited" })).toBe(false);
    expect(matches(parseFilters(["restart-policy=no"]), { rec, state: "exited" })).toBe(true);
    expect(() => parseFilters(["restart-policy=sometimes"])).toThrow("one of no, always, unless-stopped, on-failure");
  });

  test("a status or exited filter lists stopped containers without -a", () => {
    expect(listsStopped(parseFilters(["status=exited"]))).toBe(true);
    expect(listsStopped(parseFilters(["exited=0"]))).toBe(true);
    expect(listsStopped(parseFilters(["name=x"]))).toBe(false);
  });

  test("bad filters name what is wrong", () => {
    expect(() => parseFilters(["status"])).toThrow("expected name=value");
    expect(() => parseFilters(["colour=red"])).toThrow('invalid filter "colour"');
    expect(() => parseFilters(["status=dead"])).toThrow("one of created, running, paused, restarting, exited");
    expect(() => parseFilters(["exited=x"])).toThrow("an exit code");
  });
});
