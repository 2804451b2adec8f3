/**
 * `husk info` and `husk version`: the counts follow what the engine holds (running, paused,
 * stopped containers; images; networks), the cgroup layout is this host's, and --format json
 * gives the same as Engine.info() / Engine.version().
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine info", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("counts containers by state, images and networks; version names husk and its helper", async () => {
    const net = await w.network("i");
    for (const name of ["i1", "i2"])
      expect((await w.husk(["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"])).code).toBe(0);
    expect((await w.husk(["run", "--name", "i3", "--network", "none", "busybox", "true"])).code).toBe(0);
    expect((await w.husk(["pause", "i2"])).code).toBe(0);
    const info = JSON.parse((await w.husk(["info", "--format", "json"])).stdout);
    expect(info.containers).toEqual({ total: 3, running: 1, paused: 1, stopped: 1 });
    expect(info.images).toBe(1);
    expect(info.networks).toContain(net.name);
    expect(info.storageDriver).toBe("overlay");
    expect(info.dataRoot).toBe(w.engine.dataRoot);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    const v1 = / - cgroup /.test(mounts);
    const v2 = / - cgroup2 /.test(mounts);
    expect(info.cgroups).toBe(v1 && v2 ? "hybrid" : v1 ? "v1" : "v2");
    expect(await w.engine.info()).toMatchObject({ containers: info.containers, images: 1 });
    const text = (await w.husk(["info"])).stdout;
    expect(text).toMatch(/Paused: +1\n/);

    const version = JSON.parse((await w.husk(["version", "--format", "json"])).stdout);
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    expect(version.version).toBe(pkg.version);
    expect(version.helper).toMatch(/^[0-9a-f]{7,}/);
    expect(version.jsRuntime).toMatch(/^Bun \d/);
    expect((await w.husk(["version", "--format", "yaml"])).code).not.toBe(0);
    await w.husk(["rm", "-f", "i1", "i2", "i3"]);
  });
});
