/**
 * What stop sends: --stop-signal, else the image's StopSignal, else SIGTERM; --stop-timeout
 * before the SIGKILL; labels from --label over the image's; ps --filter on them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineWorld, engineWorld, importTestImage } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

// Exits with a status saying which signal it got first.
const TRAPS = 'trap "exit 10" TERM; trap "exit 11" QUIT; trap "exit 12" USR1; while :; do sleep 0.05; done';

describeAsRoot("engine stop signal", () => {
  let w: EngineWorld;
  let tmp: string;
  beforeAll(async () => {
    w = engineWorld();
    tmp = mkdtempSync(join(tmpdir(), "husk-stopsig-"));
    await importTestImage(w, tmp, "example.test/quits:1", { StopSignal: "quit", Labels: { from: "image", team: "x" } });
  });
  afterAll(async () => {
    await w.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  const run = (name: string, ...args: string[]) =>
    w.husk(["run", "-d", "--name", name, "--network", "none", ...args, "sh", "-c", TRAPS]);
  const exitOf = async (name: string) => (await w.engine.inspect(name)).State.ExitCode;

  test("SIGTERM by default, the image's StopSignal, and --stop-signal over both", async () => {
    expect((await run("s-term", "busybox")).code).toBe(0);
    expect((await run("s-image", "example.test/quits:1")).code).toBe(0);
    expect((await run("s-flag", "--stop-signal", "usr1", "example.test/quits:1")).code).toBe(0);
    expect((await w.engine.inspect("s-image")).Config.StopSignal).toBe("SIGQUIT");
    expect((await w.husk(["stop", "s-term", "s-image", "s-flag"])).code).toBe(0);
    expect([await exitOf("s-term"), await exitOf("s-image"), await exitOf("s-flag")]).toEqual([10, 11, 12]);
    await w.husk(["rm", "s-term", "s-image", "s-flag"]);
  });

  test("--stop-timeout: a container that ignores its stop signal is killed after it", async () => {
    const r = await w.husk([
      "run",
      "-d",
      "--name",
      "s-deaf",
      "--network",
      "none",
      "--stop-timeout",
      "1",
      "busybox",
      "sh",
      "-c",
      'trap "" TERM; while :; do sleep 0.05; done',
    ]);
    expect(r.code).toBe(0);
    expect((await w.engine.inspect("s-deaf")).Config.StopTimeout).toBe(1);
    expect((await w.husk(["stop", "s-deaf"])).code).toBe(0);
    expect(await exitOf("s-deaf")).toBe(137);
    await w.husk(["rm", "s-deaf"]);
  });

  test("labels from --label over the image's; ps --filter label=, ancestor=, status=", async () => {
    expect((await run("l1", "-l", "team=y", "--label", "solo", "example.test/quits:1")).code).toBe(0);
    expect((await w.husk(["run", "--name", "l2", "--network", "none", "busybox", "true"])).code).toBe(0);
    expect((await w.engine.inspect("l1")).Config.Labels).toEqual({ from: "image", team: "y", solo: "" });
    const q = async (...f: string[]) =>
      (await w.husk(["ps", "--format", "json", ...f.flatMap((x) => ["-f", x])])).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).Names);
    expect(await q("label=team=y")).toEqual(["l1"]);
    expect(await q("label=solo", "ancestor=example.test/quits:1")).toEqual(["l1"]);
    expect(await q("status=exited")).toEqual(["l2"]);
    expect(await q("label=team=x")).toEqual([]);
    // Go templates, as docker's --format takes them.
    expect(
      (await w.husk(["inspect", "-f", '{{.Config.Labels.team}} {{index .Config.Labels "solo"}}|{{.State.Running}}', "l1"]))
        .stdout,
    ).toBe("y |true\n");
    expect((await w.husk(["ps", "-a", "--format", "{{.Names}} {{.State}}", "-f", "name=l"])).stdout.split("\n").sort()).toEqual([
      "",
      "l1 running",
      "l2 exited",
    ]);
    expect((await w.husk(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout).toContain("example.test/quits:1\n");
    expect((await w.husk(["ps", "--format", "{{.Names"])).stderr).toContain("--format");
    // -l and -n: the newest made, in any state.
    const latest = await w.husk(["ps", "-l", "--format", "json"]);
    expect(JSON.parse(latest.stdout.trim()).Names).toBe("l2");
    expect((await w.husk(["ps", "-n", "2", "-q"])).stdout.trim().split("\n")).toHaveLength(2);
    const bad = await w.husk(["ps", "-f", "colour=red"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--filter");
    const badLabel = await w.husk(["run", "--rm", "--label", "=v", "busybox", "true"]);
    expect(badLabel.stderr).toContain("--label");
    await w.husk(["rm", "-f", "l1", "l2"]);
  });
});
