/**
 * `husk port`: a running container's published ports as docker lists them (`80/tcp ->
 * 127.0.0.1:PORT`), one port's host address, a clear error for a port it does not publish or a
 * malformed one, nothing once it stopped; `Container.port` in the library. No traffic is sent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine port", () => {
  let w: EngineWorld;
  let net: { name: string };
  beforeAll(async () => {
    w = engineWorld();
    net = await w.network("p");
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("lists what a running container publishes, one port's address, and nothing once stopped", async () => {
    const run = await w.husk([
      "run",
      "-d",
      "--name",
      "pub",
      "--network",
      net.name,
      "-p",
      "127.0.0.1::80",
      "-p",
      "127.0.0.1::53/udp",
      "busybox",
      "sleep",
      "60",
    ]);
    expect(run.code).toBe(0);
    const ports = (await w.engine.inspect("pub")).NetworkSettings.Ports;
    const tcp = ports["80/tcp"]![0]!.HostPort;
    const udp = ports["53/udp"]![0]!.HostPort;
    expect(Number(tcp)).toBeGreaterThan(0);
    const all = await w.husk(["port", "pub"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`80/tcp -> 127.0.0.1:${tcp}\n53/udp -> 127.0.0.1:${udp}\n`);
    expect((await w.husk(["port", "pub", "80"])).stdout).toBe(`127.0.0.1:${tcp}\n`);
    expect((await w.husk(["container", "port", "pub", "53/udp"])).stdout).toBe(`127.0.0.1:${udp}\n`);
    // The library's face of it.
    const c = w.engine.container("pub");
    expect(await c.port("80/tcp")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "127.0.0.1", hostPort: Number(tcp) }]);

    const missing = await w.husk(["port", "pub", "81"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("no public port '81/tcp' published for pub");
    const bad = await w.husk(["port", "pub", "80/sctp"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("containerPort");
    const extra = await w.husk(["port", "pub", "80", "81"]);
    expect(extra.code).not.toBe(0);
    expect((await w.husk(["port", "nosuch"])).code).not.toBe(0);

    expect((await w.husk(["stop", "-t", "0", "pub"])).code).toBe(0);
    const stopped = await w.husk(["port", "pub"]);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe("");
    expect((await w.husk(["rm", "pub"])).code).toBe(0);
  });
});
