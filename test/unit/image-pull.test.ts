/**
 * The pure parts of registry pull: WWW-Authenticate parsing, where a registry is and which
 * scheme it gets, credential file keys, platform choice from an index, and the progress text.
 */
import { describe, expect, test } from "bun:test";
import { registryKey } from "../../src/image/auth.ts";
import type { Descriptor, Index } from "../../src/image/oci.ts";
import { formatBytes, layerLine, PullProgressView, progressBar } from "../../src/image/progress.ts";
import { choosePlatform, type PullEvent, parsePlatform, platformString } from "../../src/image/pull.ts";
import { isLoopback, parseChallenges, registryBase } from "../../src/image/registry.ts";

const D = (c: string) => `sha256:${c.repeat(64)}` as const;

describe("WWW-Authenticate", () => {
  test("docker hub's Bearer challenge", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
  });

  test("Basic, case, spaces, unquoted values and escapes", () => {
    expect(parseChallenges('basic  Realm = "a \\"quoted\\" realm" , charset=UTF-8')).toEqual([
      { scheme: "basic", params: { realm: 'a "quoted" realm', charset: "UTF-8" } },
    ]);
  });

  test("several challenges in one header, one with a token68", () => {
    expect(parseChallenges('Negotiate abc123==, Basic realm="r", Bearer realm="https://t/x",error="insufficient_scope"')).toEqual(
      [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "r" } },
        { scheme: "bearer", params: { realm: "https://t/x", error: "insufficient_scope" } },
      ],
    );
  });

  test("a scope with several actions and a comma inside quotes", () => {
    expect(parseChallenges('Bearer realm="http://127.0.0.1:1/t?a=1,b=2",scope="repository:x:pull,push"')[0]!.params).toEqual({
      realm: "http://127.0.0.1:1/t?a=1,b=2",
      scope: "repository:x:pull,push",
    });
  });

  test("empty and garbage", () => {
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges(",,, ")).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([{ scheme: "bearer", params: { realm: "unterminated" } }]);
  });
});

describe("registry endpoints", () => {
  test("docker.io is served by registry-1.docker.io, over https", () => {
    expect(registryBase("docker.io")).toBe("https://registry-1.docker.io");
    expect(registryBase("registry.example:5000")).toBe("https://registry.example:5000");
  });

  test("plain http only for this machine, or when insecure", () => {
    for (const h of ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"]) {
      expect(isLoopback(h)).toBe(true);
      expect(registryBase(h)).toStartWith("http://");
    }
    for (const h of ["localhost.example", "127.0.0.1.nip.io:5000", "10.0.0.1:5000", "[::2]:5000", "localhostx"]) {
      expect(isLoopback(h)).toBe(false);
      expect(registryBase(h)).toStartWith("https://");
    }
    expect(registryBase("10.0.0.1:5000", true)).toBe("http://10.0.0.1:5000");
  });

  test("credential file keys", () => {
    expect(registryKey("https://index.docker.io/v1/")).toBe("docker.io");
    expect(registryKey("index.docker.io")).toBe("docker.io");
    expect(registryKey("registry-1.docker.io")).toBe("docker.io");
    expect(registryKey("docker.io")).toBe("docker.io");
    expect(registryKey("http://Localhost:5000/v2/")).toBe("localhost:5000");
    expect(registryKey("r.example:5000")).toBe("r.example:5000");
  });
});

describe("platforms", () => {
  test("parse", () => {
    expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(parsePlatform("aarch64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("Linux/X86_64")).toEqual({ os: "linux", architecture: "amd64" });
    for (const bad of ["", "linux/", "a/b/c/d", "linux/arm/"]) expect(() => parsePlatform(bad)).toThrow(/is not a platform/);
    expect(platformString({ os: "linux", architecture: "arm", variant: "v7" })).toBe("linux/arm/v7");
  });

  const entry = (digest: string, platform?: Descriptor["platform"]): Descriptor => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: D(digest),
    size: 100,
    ...(platform ? { platform } : {}),
  });
  const index: Index = {
    schemaVersion: 2,
    manifests: [
      entry("a", { os: "linux", architecture: "amd64" }),
      entry("b", { os: "linux", architecture: "arm", variant: "v6" }),
      entry("c", { os: "linux", architecture: "arm", variant: "v7" }),
      entry("d", { os: "linux", architecture: "arm64", variant: "v8" }),
      entry("e", { os: "unknown", architecture: "unknown" }),
      entry("f", { os: "unknown", architecture: "unknown" }),
    ],
  };

  test("choose by os/arch and variant", () => {
    expect(choosePlatform(index, parsePlatform("linux/amd64"), "x").digest).toBe(D("a"));
    expect(choosePlatform(index, parsePlatform("linux/arm/v7"), "x").digest).toBe(D("c"));
    expect(choosePlatform(index, parsePlatform("linux/arm"), "x").digest).toBe(D("b"));
    expect(choosePlatform(index, parsePlatform("linux/arm64"), "x").digest).toBe(D("d"));
    expect(choosePlatform(index, parsePlatform("linux/arm64/v8"), "x").digest).toBe(D("d"));
  });

  test("no match: the error lists what the index has, attestations left out", () => {
    expect(() => choosePlatform(index, parsePlatform("linux/s390x"), "pull x")).toThrow(
      "pull x: no image for linux/s390x in the index (it has linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8)",
    );
    expect(() => choosePlatform({ schemaVersion: 2, manifests: [] }, parsePlatform("linux/amd64"), "x")).toThrow(
      "no platforms listed",
    );
  });

  test("an entry without a platform fits only when it is the only one", () => {
    const one: Index = { schemaVersion: 2, manifests: [entry("a")] };
    expect(choosePlatform(one, parsePlatform("linux/amd64"), "x").digest).toBe(D("a"));
  });
});

describe("progress text", () => {
  test("bytes as docker shows them", () => {
    expect(formatBytes(0)).toBe("0B");
    expect(formatBytes(999)).toBe("999B");
    expect(formatBytes(1000)).toBe("1kB");
    expect(formatBytes(12345)).toBe("12.3kB");
    expect(formatBytes(4_194_304)).toBe("4.19MB");
    expect(formatBytes(2.5e9)).toBe("2.5GB");
  });

  test("the bar", () => {
    expect(progressBar(0, 100, 10)).toBe("[>         ]");
    expect(progressBar(50, 100, 10)).toBe("[=====>    ]");
    expect(progressBar(100, 100, 10)).toBe("[==========]");
    expect(progressBar(5, 0, 4)).toBe("[>   ]");
    expect(progressBar(500, 100, 4)).toBe("[====]");
  });

  test("a layer line, cut to the terminal's width", () => {
    const l = { digest: D("a"), status: "downloading" as const, bytes: 4_190_000, total: 9_440_000 };
    const line = layerLine(l, 80);
    expect(line).toBe(`aaaaaaaaaaaa: Downloading [${"=".repeat(16)}>${" ".repeat(20)}] 4.19MB/9.44MB`);
    expect(line.length).toBeLessThan(80);
    expect(layerLine(l, 40)).toBe("aaaaaaaaaaaa: Downloading 4.19MB/9.44MB");
    expect(layerLine(l, 20).length).toBe(19);
    expect(layerLine({ ...l, status: "done", existed: true })).toBe("aaaaaaaaaaaa: Already exists");
  });

  const events: PullEvent[] = [
    {
      type: "resolved",
      ref: "r:1",
      digest: D("0"),
      layers: [
        { digest: D("a"), size: 2000 },
        { digest: D("b"), size: 10 },
      ],
    },
    { type: "layer", digest: D("a"), status: "waiting", bytes: 0, total: 2000 },
    { type: "layer", digest: D("b"), status: "waiting", bytes: 0, total: 10 },
    { type: "layer", digest: D("b"), status: "exists", bytes: 10, total: 10 },
    { type: "layer", digest: D("a"), status: "downloading", bytes: 1000, total: 2000 },
    { type: "layer", digest: D("a"), status: "downloaded", bytes: 2000, total: 2000 },
    { type: "layer", digest: D("b"), status: "done", bytes: 10, total: 10 },
    { type: "layer", digest: D("a"), status: "extracting", bytes: 2000, total: 2000 },
    { type: "layer", digest: D("a"), status: "done", bytes: 2000, total: 2000 },
    { type: "done", id: D("1"), digest: D("0"), tags: ["r:1"] },
  ];

  test("not a terminal: one line per layer when it completes, then the summary", () => {
    const view = new PullProgressView({ tty: false });
    expect(events.map((e) => view.update(e)).join("")).toBe(
      [
        "Pulling r:1",
        "bbbbbbbbbbbb: Already exists",
        "aaaaaaaaaaaa: Pull complete (2kB)",
        `Digest: ${D("0")}`,
        "Status: Downloaded r:1",
        "",
      ].join("\n"),
    );
  });

  test("a terminal: the block of layer lines redrawn in place", () => {
    const view = new PullProgressView({ tty: true, columns: 60 });
    const out = events.map((e) => view.update(e));
    const clear = "\x1b[2K";
    expect(out[0]).toBe(`Pulling r:1\n${clear}aaaaaaaaaaaa: Waiting\n${clear}bbbbbbbbbbbb: Waiting\n`);
    // "waiting" again changes nothing on screen: nothing written.
    expect(out[1]).toBe("");
    expect(out[3]).toBe(`\x1b[2A\r${clear}aaaaaaaaaaaa: Waiting\n${clear}bbbbbbbbbbbb: Already exists\n`);
    expect(out[4]).toContain("aaaaaaaaaaaa: Downloading [");
    expect(out[4]).toContain("] 1kB/2kB\n");
    expect(out[8]).toBe(`\x1b[2A\r${clear}aaaaaaaaaaaa: Pull complete\n${clear}bbbbbbbbbbbb: Already exists\n`);
    expect(out[9]).toBe(`Digest: ${D("0")}\nStatus: Downloaded r:1\n`);
    // Redrawn lines never wrap: each fits the 60 columns.
    for (const o of out) for (const line of o.split(clear).slice(1)) expect(line.length).toBeLessThanOrEqual(60);
  });
});
