/**
 * husk stats / Engine.stats and statsStream: docker's columns from the container's cgroup
 * (this machine: v1 controllers of a hybrid layout), its network namespace and /proc/stat. A
 * busy loop reads near 100% CPU and an idle container near 0 (a control for the formula), the
 * memory limit is the one set, PIDS counts the processes, NET I/O counts traffic between two
 * containers of the test's own network, --format json, and streaming prints a block a second.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, HUSK_ENGINE } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine stats", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("CPU %, memory limit, PIDS; a busy container against an idle one", async () => {
    const busy = await w.engine.start("busybox", ["sh", "-c", "while :; do :; done"], {
      network: "none",
      name: "st-busy",
      memory: 64 * 1024 * 1024,
    });
    const idle = await w.engine.start("busybox", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], {
      network: "none",
      name: "st-idle",
    });
    try {
      const s = await busy.stats();
      expect(s.running).toBe(true);
      // One busy thread on this 2-core machine; others' tests may take some of it.
      expect(s.cpuPercent).toBeGreaterThan(30);
      expect(s.cpuPercent).toBeLessThan(115);
      expect(s.memoryLimit).toBe(64 * 1024 * 1024);
      expect(s.memoryUsage).toBeGreaterThan(0);
      expect(s.memoryPercent).toBeCloseTo((s.memoryUsage / s.memoryLimit) * 100, 5);
      expect(s.pids).toBe(1);
      expect(s.cgroup?.cpu.usage.total).toBeGreaterThan(0);
      const i = await idle.stats();
      expect(i.cpuPercent).toBeLessThan(5);
      expect(i.pids).toBe(3);
      const r = await w.husk(["stats", "--no-stream", "st-busy", "st-idle"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]!.split(/\s{2,}/)).toEqual([
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
      ]);
      const busyRow = lines.find((l) => l.includes(" st-busy "))!.split(/\s{2,}/);
      expect(busyRow[0]).toBe(busy.id.slice(0, 12));
      expect(busyRow[3]).toMatch(/^[\d.]+[KM]iB \/ 64MiB$/);
      expect(Number.parseFloat(busyRow[2]!)).toBeGreaterThan(30);
      expect(busyRow[7]).toBe("1");
      const j = await w.husk(["stats", "--no-stream", "--format", "json", "st-idle"]);
      const o = JSON.parse(j.stdout);
      expect(o.Name).toBe("st-idle");
      expect(o.ID).toBe(idle.id.slice(0, 12));
      expect(o.PIDs).toBe("3");
      expect(o.MemUsage).toMatch(/ \/ /);
      // docker's templates and table form, with its column titles.
      const t = await w.husk(["stats", "--no-stream", "--format", "table {{.Name}}\\t{{.PIDs}}", "st-idle"]);
      expect(t.stdout).toBe("NAME      PIDS\nst-idle   3\n");
      const g = await w.husk(["stats", "--no-stream", "--format", "{{.Container}}: {{.PIDs}}", "st-idle"]);
      expect(g.stdout).toBe("st-idle: 3\n");
      expect((await w.husk(["stats", "--no-stream", "--format", "{{.Nope", "st-idle"])).stderr).toContain("not closed");
    } finally {
      await busy.remove({ force: true });
      await idle.remove({ force: true });
    }
  });

  test("NET I/O counts traffic between two containers of the test's network; -a shows exited ones as zeros", async () => {
    const net = await w.network("st");
    const a = await w.engine.start("busybox", ["sleep", "1000"], { network: net.name, name: "st-a" });
    const b = await w.engine.start("busybox", ["sleep", "1000"], { network: net.name, name: "st-b" });
    const gone = await w.engine.start("busybox", ["true"], { network: "none", name: "st-gone" });
    await gone.wait();
    try {
      const before = await a.stats({ intervalMs: 100 });
      const bAddr = (await w.engine.inspect("st-b")).NetworkSettings.IPAddress;
      const ping = await a.exec(["ping", "-c", "3", "-s", "1000", "-i", "0.2", bAddr]);
      expect(ping.exitCode).toBe(0);
      const after = await a.stats({ intervalMs: 100 });
      expect(after.netTxBytes - before.netTxBytes).toBeGreaterThan(3000);
      expect(after.netRxBytes - before.netRxBytes).toBeGreaterThan(3000);
      const r = await w.husk(["stats", "--no-stream", "-a"]);
      const gl = r.stdout.split("\n").find((l) => l.includes(" st-gone "))!;
      expect(gl.split(/\s{2,}/).slice(2)).toEqual(["0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]);
      expect(r.stdout).toMatch(/st-a\s+[\d.]+%\s+\S+ \/ \S+\s+[\d.]+%\s+[\d.]+kB \/ [\d.]+kB/);
      const none = await w.husk(["stats", "--no-stream"]);
      expect(none.stdout).not.toContain("st-gone");
      expect(none.stdout).toContain("st-b");
    } finally {
      for (const c of [a, b, gone]) await c.remove({ force: true });
    }
  });

  test("streaming: a block a second when not on a terminal, until stopped; the library's iterator", async () => {
    const c = await w.engine.start("busybox", ["sleep", "1000"], { network: "none", name: "st-stream" });
    try {
      const proc = Bun.spawn([HUSK_ENGINE, "stats", "st-stream"], {
        env: w.env,
        stdout: "pipe",
        stderr: "pipe",
      });
      await Bun.sleep(3500);
      proc.kill("SIGINT");
      const out = await new Response(proc.stdout).text();
      await proc.exited;
      const blocks = out.split("CONTAINER ID").length - 1;
      expect(blocks).toBeGreaterThanOrEqual(2);
      expect(blocks).toBeLessThanOrEqual(4);
      expect(out).not.toContain("\x1b[2J");
      const seen: number[] = [];
      for await (const s of c.statsStream({ intervalMs: 200 })) {
        seen.push(s.pids);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([1, 1, 1]);
      const err = await w.engine.stats("st-stream", { intervalMs: 1 }).catch((e) => e);
      expect((err as Error).message).toContain("StatsOptions.intervalMs");
    } finally {
      await c.remove({ force: true });
    }
  });
});
