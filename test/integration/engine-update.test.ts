/**
 * `husk update`: a running container's memory, CPU and pids limits change at once (its cgroup,
 * as it sees it), inspect shows them, a start after a stop keeps them; bad values name the flag
 * and change nothing; `Container.update` is the library's face.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

// v1 files, else v2's (the container sees its own cgroup at /sys/fs/cgroup).
const LIMITS =
  "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max";

describeAsRoot("engine update", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const limits = async (name: string) => (await w.husk(["exec", name, "sh", "-c", LIMITS])).stdout.split("\n").slice(0, 3);

  test("changes a running container's limits at once, and for its next start", async () => {
    expect(
      (await w.husk(["run", "-d", "--name", "upd", "--network", "none", "--memory", "32m", "busybox", "sleep", "60"])).code,
    ).toBe(0);
    expect((await limits("upd"))[0]).toBe(String(32 * 1024 * 1024));
    expect(await w.husk(["update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "upd"])).toMatchObject({
      code: 0,
      stdout: "upd\n",
    });
    const [memory, pids, cpu] = await limits("upd");
    expect(memory).toBe(String(64 * 1024 * 1024));
    expect(pids).toBe("50");
    expect(cpu).toMatch(/^50000( 100000)?$/);
    expect((await w.engine.inspect("upd")).HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 50 });

    // Refused values name the flag and change nothing.
    for (const [flag, value, says] of [
      ["--memory", "1k", "--memory: minimum memory limit is 6 MiB"],
      ["--cpus", "x", "--cpus: invalid CPU count"],
      ["--pids-limit", "0", "--pids-limit: must be a whole number"],
    ] as const) {
      const r = await w.husk(["update", flag, value, "upd"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(says);
    }
    expect((await w.husk(["update", "upd"])).code).not.toBe(0);
    expect((await limits("upd"))[0]).toBe(String(64 * 1024 * 1024));

    // The library's face; then a stop and a start keep the new limits.
    await w.engine.container("upd").update({ pidsLimit: 40 });
    expect((await w.husk(["stop", "-t", "0", "upd"])).code).toBe(0);
    expect((await w.husk(["start", "upd"])).code).toBe(0);
    expect((await limits("upd")).slice(0, 2)).toEqual([String(64 * 1024 * 1024), "40"]);
    await expect(w.engine.update("upd", { swap: 1 } as never)).rejects.toThrow("UpdateOptions.swap");
    expect((await w.husk(["rm", "-f", "upd"])).code).toBe(0);
  });
});
