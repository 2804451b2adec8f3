/**
 * husk rename: the new name is the container's (ps, inspect, its own /etc/hosts), the old one
 * is free again; on a user network the others resolve the new name, not the old; a name in use
 * or a malformed one is refused and changes nothing. No traffic is sent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine rename", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("the others on its user network resolve the new name; its own hosts file says it", async () => {
    const net = await w.network("r");
    for (const name of ["alpha", "beta"])
      expect((await w.husk(["run", "-d", "--name", name, "--network", net.name, "busybox", "sleep", "60"])).code).toBe(0);
    const hostsOf = async (name: string) => (await w.husk(["exec", name, "cat", "/etc/hosts"])).stdout;
    expect(await hostsOf("beta")).toMatch(/\salpha(\s|$)/m);
    expect((await w.husk(["rename", "alpha", "gamma"])).code).toBe(0);
    expect((await w.engine.inspect("gamma")).Name).toBe("/gamma");
    const seen = await hostsOf("beta");
    expect(seen).toMatch(/\sgamma(\s|$)/m);
    expect(seen).not.toMatch(/\salpha(\s|$)/m);
    expect(await hostsOf("gamma")).toMatch(/\sgamma(\s|$)/m);

    // The old name is free; a taken or malformed one is refused.
    expect((await w.husk(["run", "--rm", "--name", "alpha", "--network", "none", "busybox", "true"])).code).toBe(0);
    const taken = await w.husk(["rename", "gamma", "beta"]);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain("already in use");
    expect((await w.husk(["rename", "gamma", "no good"])).stderr).toContain("invalid container name");
    expect((await w.engine.inspect("gamma")).Name).toBe("/gamma");
    await w.engine.container("gamma").rename("delta");
    expect((await w.engine.list()).map((c) => c.name).sort()).toEqual(["beta", "delta"]);
    await w.husk(["rm", "-f", "beta", "delta"]);
  });
});
