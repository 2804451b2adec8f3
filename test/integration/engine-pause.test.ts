/**
 * `husk pause` / `unpause` (the cgroup freezer, as docker's): a paused container's processes
 * stop (a counter it writes stands still), ps and inspect say paused, exec is refused, pausing
 * twice or unpausing a running one is a clear error; stop, kill and rm -f of a paused container
 * end it at once (thawed once the signal is pending) and leave nothing behind.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

const COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done";

describeAsRoot("engine pause", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const counter = async (name: string) => Number((await w.husk(["exec", name, "cat", "/tmp/n"])).stdout.trim());

  test("pause freezes, unpause thaws; ps, inspect and exec see it", async () => {
    expect((await w.husk(["run", "-d", "--name", "frz", "--network", "none", "busybox", "sh", "-c", COUNTER])).code).toBe(0);
    await until(async () => (await counter("frz")) > 0, 5000, "the counter to start");
    expect(await w.husk(["pause", "frz"])).toMatchObject({ code: 0, stdout: "frz\n" });
    const ps = JSON.parse(
      (await w.husk(["ps", "--format", "json"])).stdout
        .trim()
        .split("\n")
        .find((l) => l.includes('"frz"'))!,
    );
    expect(ps.State).toBe("paused");
    expect(ps.Status).toContain("(Paused)");
    const state = (await w.engine.inspect("frz")).State;
    expect(state).toMatchObject({ Status: "paused", Running: true, Paused: true });
    const exec = await w.husk(["exec", "frz", "true"]);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain("is paused");
    const again = await w.husk(["pause", "frz"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already paused");
    // Frozen: the counter file stands still (read from the host, through the container's root).
    const pid = w.engine.record("frz").pid;
    const read = () => Bun.file(`/proc/${pid}/root/tmp/n`).text();
    const before = await read();
    await Bun.sleep(300);
    expect(await read()).toBe(before);
    // The library's face, then thawed: it counts on.
    await w.engine.container("frz").unpause();
    expect((await w.engine.inspect("frz")).State).toMatchObject({ Status: "running", Paused: false });
    await until(async () => (await read()) !== before, 5000, "the counter to move again");
    const notPaused = await w.husk(["unpause", "frz"]);
    expect(notPaused.code).toBe(1);
    expect(notPaused.stderr).toContain("is not paused");
    expect((await w.husk(["rm", "-f", "frz"])).code).toBe(0);
  });

  test("stop, kill and rm -f of a paused container end it at once", async () => {
    const run = (name: string, script: string) =>
      w.husk(["run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c", script]);
    expect((await run("ps1", 'trap "exit 3" TERM; while :; do sleep 0.05; done')).code).toBe(0);
    expect((await run("ps2", "sleep 100")).code).toBe(0);
    expect((await run("ps3", "sleep 100")).code).toBe(0);
    for (const n of ["ps1", "ps2", "ps3"]) expect((await w.husk(["pause", n])).code).toBe(0);
    const ids = ["ps1", "ps2", "ps3"].map((n) => w.engine.record(n).id);

    expect((await w.husk(["stop", "ps1"])).code).toBe(0);
    // Its TERM trap ran (status 3), not the timeout's SIGKILL: it was thawed with the SIGTERM pending.
    expect((await w.engine.inspect("ps1")).State).toMatchObject({ Status: "exited", ExitCode: 3 });

    expect((await w.husk(["kill", "ps2"])).code).toBe(0);
    await until(async () => (await w.engine.inspect("ps2")).State.Status === "exited", 5000, "the kill to end it");
    expect((await w.engine.inspect("ps2")).State.ExitCode).toBe(137);

    expect((await w.husk(["rm", "-f", "ps3"])).code).toBe(0);
    expect((await w.husk(["rm", "ps1", "ps2"])).code).toBe(0);
    for (const id of ids) expect(w.leftovers(id)).toEqual([]);
  });
});
