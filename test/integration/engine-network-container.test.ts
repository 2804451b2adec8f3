/**
 * --network container:NAME (docker's): the new container joins a running one's network
 * namespace and shares its hostname and /etc files; a server of one answers the other on
 * 127.0.0.1 (traffic stays inside the namespace the test made). Ports, a hostname of its own, an
 * unknown or stopped container are refused; a start after the other restarted joins it anew.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine network container:", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const SERVER = "mkdir -p /www && echo hello > /www/i && exec httpd -f -p 8080 -h /www";

  test("shares the namespace, hostname and /etc files; refuses what cannot be shared", async () => {
    expect((await w.husk(["run", "-d", "--name", "srv", "--network", "none", "busybox", "sh", "-c", SERVER])).code).toBe(0);
    const netns = (await w.husk(["exec", "srv", "readlink", "/proc/self/ns/net"])).stdout;
    let seen = "";
    await until(
      async () => {
        const r = await w.husk([
          "run",
          "--rm",
          "--network",
          "container:srv",
          "busybox",
          "sh",
          "-c",
          "wget -qO- http://127.0.0.1:8080/i && hostname && readlink /proc/self/ns/net",
        ]);
        seen = r.stdout;
        return r.code === 0;
      },
      5000,
      "httpd to answer",
    );
    const srv = await w.engine.inspect("srv");
    expect(seen).toBe(`hello\n${srv.Config.Hostname}\n${netns}`);
    expect((await w.husk(["run", "--rm", "--network", "container:srv", "busybox", "cat", "/etc/hostname"])).stdout).toBe(
      `${srv.Config.Hostname}\n`,
    );

    for (const [args, says] of [
      [["-p", "80"], "--publish"],
      [["--hostname", "x"], "--hostname"],
      [["--network-alias", "x"], "--network-alias"],
    ] as const) {
      const r = await w.husk(["run", "--rm", "--network", "container:srv", ...args, "busybox", "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(says);
    }
    expect((await w.husk(["run", "--rm", "--network", "container:nosuch", "busybox", "true"])).stderr).toContain(
      "no such container",
    );
    expect((await w.husk(["create", "--name", "idle", "--network", "none", "busybox", "true"])).code).toBe(0);
    const stopped = await w.husk(["run", "--rm", "--network", "container:idle", "busybox", "true"]);
    expect(stopped.code).toBe(125);
    expect(stopped.stderr).toContain("not running");
    await w.husk(["rm", "-f", "srv", "idle"]);
  });

  test("a start after the other restarted joins it as it is now", async () => {
    expect((await w.husk(["run", "-d", "--name", "base", "--network", "none", "busybox", "sh", "-c", SERVER])).code).toBe(0);
    expect((await w.husk(["run", "-d", "--name", "side", "--network", "container:base", "busybox", "sleep", "60"])).code).toBe(0);
    expect((await w.husk(["restart", "-t", "0", "base"])).code).toBe(0);
    expect((await w.husk(["restart", "-t", "0", "side"])).code).toBe(0);
    const a = (await w.husk(["exec", "base", "readlink", "/proc/self/ns/net"])).stdout;
    expect((await w.husk(["exec", "side", "readlink", "/proc/self/ns/net"])).stdout).toBe(a);
    await w.husk(["rm", "-f", "side", "base"]);
  });
});
