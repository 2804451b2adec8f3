/**
 * Detached containers (`husk run -d`): the CLI returns while the container runs, no husk or
 * JavaScript process stays (only the native monitor), the log, exec, stop, kill, wait and rm
 * work on it, --rm cleans up after the container ends by itself, and nothing is left.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

describeAsRoot("engine detached", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("run -d outlives the CLI; its parent is the native monitor; logs, exec, stop, rm", async () => {
    const r = await w.husk([
      "run",
      "-d",
      "--name",
      "d1",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo one; echo two >&2; exec sleep 60",
    ]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const info = await w.engine.inspect("d1");
    expect(info.State.Running).toBe(true);
    const pid = info.State.Pid;
    const monitor = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    // The helper re-executes from a memfd: its comm names that, not bun or node.
    expect(comm(monitor)).toMatch(/husk-help|memfd/);
    await until(async () => (await w.husk(["logs", "d1"])).stdout === "one\n", 3000, "log");
    const logs = await w.husk(["logs", "-t", "d1"]);
    expect(logs.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z two\n$/);
    const e = await w.husk(["exec", "d1", "sh", "-c", "cat /etc/hostname; exit 5"]);
    expect(e.code).toBe(5);
    expect(e.stdout).toBe(`${id.slice(0, 12)}\n`);
    expect((await w.husk(["rm", "d1"])).code).toBe(1);
    const t0 = Date.now();
    expect((await w.husk(["stop", "-t", "1", "d1"])).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const after = await w.engine.inspect("d1");
    expect(after.State.Status).toBe("exited");
    expect(after.State.ExitCode).toBe(137); // sleep as PID 1 ignores SIGTERM: killed after the grace period
    expect((await w.husk(["wait", "d1"])).stdout).toBe("137\n");
    expect((await w.husk(["rm", "d1"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
    // The monitor became its cleanup command (husk _exited), which finds nothing left to do.
    await until(() => comm(monitor) === "", 5000, "the monitor's cleanup to end");
  });

  test("a container that ends by itself: exit status and time recorded by the monitor; --rm removes it", async () => {
    const a = (await w.husk(["run", "-d", "--network", "none", "busybox", "sh", "-c", "echo bye; exit 7"])).stdout.trim();
    expect((await w.husk(["wait", a])).stdout).toBe("7\n");
    const i = await w.engine.inspect(a);
    expect(i.State.Status).toBe("exited");
    expect(Date.parse(i.State.FinishedAt)).toBeGreaterThan(Date.parse(i.State.StartedAt));
    expect((await w.husk(["logs", a])).stdout).toBe("bye\n");
    // The monitor's cleanup released the runtime state.
    await until(() => !w.leftovers(a).includes("runtime state"), 5000, "runtime state released");
    await w.husk(["rm", a]);
    const b = (await w.husk(["run", "-d", "--rm", "--network", "none", "busybox", "sh", "-c", "exit 0"])).stdout.trim();
    await until(() => w.leftovers(b).length === 0, 5000, `--rm cleanup (${w.leftovers(b)})`);
  });

  test("kill -s, logs -f until exit, rm -f of a running container", async () => {
    const id = (
      await w.husk([
        "run",
        "-d",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.05; done",
      ])
    ).stdout.trim();
    await until(async () => (await w.husk(["logs", id])).stdout.includes("ready"), 3000, "ready");
    const follow = w.husk(["logs", "-f", id]);
    expect((await w.husk(["kill", "-s", "USR1", id])).code).toBe(0);
    const f = await follow;
    expect(f.stdout).toBe("ready\ngot USR1\n");
    expect((await w.husk(["wait", id])).stdout).toBe("3\n");
    const r = (await w.husk(["run", "-d", "--network", "none", "busybox", "sleep", "60"])).stdout.trim();
    expect((await w.husk(["rm", "-f", r])).code).toBe(0);
    expect(w.leftovers(r)).toEqual([]);
    const ps = await w.husk(["ps", "-aq"]);
    expect(ps.stdout).toBe(`${id.slice(0, 12)}\n`);
  });

  test("SIGKILL of the CLI during a foreground run leaves what rm -f removes", async () => {
    const proc = Bun.spawn(["bin/husk", "run", "--name", "killed", "--network", "none", "busybox", "sleep", "30"], {
      env: w.env,
      stdio: ["ignore", "ignore", "ignore"],
    });
    await until(async () => (await w.engine.list()).some((c) => c.name === "killed"), 5000, "container running");
    proc.kill("SIGKILL");
    await proc.exited;
    const id = (await w.engine.inspect("killed")).Id;
    expect((await w.husk(["rm", "-f", "killed"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
  });

  test("a crash (monitor and container killed at once, no cleanup ran): exited at once, start runs it again", async () => {
    const r = await w.husk(["run", "-d", "--name", "crashed", "--network", "none", "busybox", "sleep", "60"]);
    expect(r.code).toBe(0);
    const before = await w.engine.inspect("crashed");
    const init = before.State.Pid;
    const monitor = Number(readFileSync(`/proc/${init}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    expect(comm(monitor)).not.toBe("");
    // As a power cut would: neither writes an exit file nor runs its cleanup. The monitor stays a
    // zombie until the host's init reaps it, which need not be at once: that is no running monitor.
    process.kill(monitor, "SIGKILL");
    process.kill(init, "SIGKILL");
    await until(() => comm(init) === "" || readFileSync(`/proc/${init}/stat`, "utf8").includes(") Z"), 5000, "init dead");
    const ps = await w.husk(["ps", "-a", "--filter", "name=crashed", "--format", "{{.State}}"]);
    expect(ps.stdout).toBe("exited\n");
    const start = await w.husk(["start", "crashed"]);
    expect(`${start.code} ${start.stderr}`).toBe("0 ");
    const after = await w.engine.inspect("crashed");
    expect(after.State.Running).toBe(true);
    expect(after.State.Pid).not.toBe(init);
    expect((await w.husk(["exec", "crashed", "true"])).code).toBe(0);
    expect((await w.husk(["rm", "-f", "crashed"])).code).toBe(0);
    expect(w.leftovers(before.Id)).toEqual([]);
  });
});
