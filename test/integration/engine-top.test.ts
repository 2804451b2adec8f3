/**
 * husk top / Engine.top: the container's processes with host pids, found from its cgroup; ps
 * options pass through; the test's own processes are not listed; errors for a container that
 * is not running and for ps output without a PID column.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine top", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("lists the container's processes with host pids, as ps -ef, and with ps options", async () => {
    const c = await w.engine.start("busybox", ["sh", "-c", "sleep 1001 & sleep 1002 & wait"], {
      network: "none",
      name: "top1",
    });
    try {
      await until(async () => (await c.top()).processes.length === 3, 5000, "three processes");
      const r = await w.husk(["top", "top1"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]!.split(/\s+/)).toEqual(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
      const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
      const cmds = rows.map((r) => r[r.length - 1]).sort();
      expect(cmds).toEqual(["sh -c sleep 1001 & sleep 1002 & wait", "sleep 1001", "sleep 1002"]);
      // Host pids: the init's is the one the engine recorded, the sleeps are its children.
      const init = rows.find((r) => r[7]!.startsWith("sh "))!;
      expect(Number(init[1])).toBe(c.pid);
      for (const r of rows.filter((r) => r[7]!.startsWith("sleep"))) expect(Number(r[2])).toBe(c.pid);
      expect(r.stdout).not.toContain(` ${process.pid} `);
      // ps options: the columns asked for.
      const o = await w.husk(["top", "top1", "-o", "pid,comm"]);
      expect(o.code).toBe(0);
      const ol = o.stdout.trimEnd().split("\n");
      expect(ol[0]!.split(/\s+/)).toEqual(["PID", "COMMAND"]);
      expect(
        ol
          .slice(1)
          .map((l) => l.split(/\s+/)[1])
          .sort(),
      ).toEqual(["sh", "sleep", "sleep"]);
      // The library's shape.
      const lib = await c.top(["-o", "pid,args"]);
      expect(lib.titles).toEqual(["PID", "COMMAND"]);
      expect(lib.processes.map((p) => p[1]).sort()).toEqual(["sh -c sleep 1001 & sleep 1002 & wait", "sleep 1001", "sleep 1002"]);
      // No PID column: one error naming the ps options.
      const np = await w.husk(["top", "top1", "-o", "comm"]);
      expect(np.code).toBe(1);
      expect(np.stderr).toBe("husk: psArgs: the ps output has no PID column: add pid to -o\n");
    } finally {
      await c.remove({ force: true });
    }
  });

  test("a container that is not running, and one that does not exist: one error, status 1", async () => {
    const c = await w.engine.start("busybox", ["true"], { network: "none", name: "top2" });
    await c.wait();
    const r = await w.husk(["top", "top2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`husk: container ${c.id.slice(0, 12)} is not running\n`);
    const n = await w.husk(["top", "nosuch"]);
    expect(n.code).toBe(1);
    expect(n.stderr).toBe("husk: no such container: nosuch\n");
    await c.remove();
  });
});
