/**
 * Names on user networks: containers on the same user-created network resolve each other by
 * name, short id and --network-alias (their /etc/hosts lists the others, rewritten in place as
 * containers come, go and start again); not across networks, not on the default network. --add-host, --dns,
 * --dns-search and --dns-option end up in the files. Traffic stays on the test's own bridges.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Engine } from "../../src/engine/engine.ts";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("network dns", () => {
  let w: EngineWorld;
  let one: { name: string; bridge: string; subnet: string };
  let two: { name: string; bridge: string; subnet: string };
  beforeAll(async () => {
    w = engineWorld();
    one = await w.network("one");
    two = await w.network("two");
  });
  afterAll(async () => {
    await w.cleanup();
  });

  // A name not in /etc/hosts goes to DNS: 127.0.0.1 in the container's own namespace refuses at
  // once (nothing listens there), so a miss is quick and no query leaves the container.
  const start = async (name: string, network: string, ...more: string[]) => {
    const r = await w.husk([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      network,
      "--dns",
      "127.0.0.1",
      ...more,
      "busybox",
      "sleep",
      "300",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return r.stdout.trim();
  };
  const address = async (name: string, network: string) =>
    (await w.engine.inspect(name)).NetworkSettings.Networks[network]!.IPAddress;
  /** What `name` resolves to inside container `from`: busybox ping names the address before it sends. */
  const resolve = async (from: string, name: string) => {
    const r = await w.husk(["exec", from, "ping", "-c", "1", "-W", "1", name]);
    const m = /^PING \S+ \(([0-9.]+)\)/m.exec(r.stdout);
    if (m) return m[1];
    expect(r.stderr).toContain("bad address");
    return undefined;
  };
  const hosts = async (name: string) => (await w.husk(["exec", name, "cat", "/etc/hosts"])).stdout;

  test("containers on a user network resolve each other by name, short id and alias; not across networks", async () => {
    const a = await start("a", one.name, "--network-alias", "alpha", "--network-alias", "first");
    await start("b", one.name);
    await start("c", two.name);
    const addrA = await address("a", one.name);
    const addrB = await address("b", one.name);
    expect(await resolve("b", "a")).toBe(addrA);
    expect(await resolve("b", "alpha")).toBe(addrA);
    expect(await resolve("b", "first")).toBe(addrA);
    expect(await resolve("b", a.slice(0, 12))).toBe(addrA);
    expect((await w.engine.inspect("a")).HostConfig.Dns).toEqual(["127.0.0.1"]);
    // a was there first: its file was rewritten when b came (in place: the bind shows it).
    expect(await resolve("a", "b")).toBe(addrB);
    // And the name answers: a real packet to it over the test's bridge.
    expect((await w.husk(["exec", "b", "ping", "-c", "1", "-W", "2", "alpha"])).code).toBe(0);
    // c is on another network: neither side sees the other.
    expect(await resolve("c", "a")).toBeUndefined();
    expect(await resolve("a", "c")).toBeUndefined();
    expect(await hosts("c")).not.toContain(addrA);
    for (const n of ["a", "b", "c"]) expect((await w.husk(["rm", "-f", n])).code).toBe(0);
  });

  test("stop, rm, connect and disconnect update the others' view", async () => {
    await start("p", one.name);
    await start("q", one.name, "--network-alias", "queue");
    await start("r", two.name);
    const addrQ = await address("q", one.name);
    expect(await resolve("p", "queue")).toBe(addrQ);
    // stop: q is gone from p's view.
    expect((await w.husk(["stop", "-t", "0", "q"])).code).toBe(0);
    expect(await resolve("p", "q")).toBeUndefined();
    expect(await hosts("p")).not.toContain("queue");
    // connect r to p's network (with an alias): each sees the other; disconnect: neither does.
    expect((await w.husk(["network", "connect", "--alias", "rr", one.name, "r"])).code).toBe(0);
    const addrR = await address("r", one.name);
    expect(await resolve("p", "r")).toBe(addrR);
    expect(await resolve("p", "rr")).toBe(addrR);
    expect(await resolve("r", "p")).toBe(await address("p", one.name));
    expect((await w.husk(["network", "disconnect", one.name, "r"])).code).toBe(0);
    expect(await resolve("p", "r")).toBeUndefined();
    expect(await resolve("r", "p")).toBeUndefined();
    // rm -f of a running container: the others forget it, and the network keeps no name of it.
    expect((await w.husk(["network", "connect", one.name, "r"])).code).toBe(0);
    expect(await resolve("p", "r")).toBe(await address("r", one.name));
    expect((await w.husk(["rm", "-f", "r"])).code).toBe(0);
    expect(await resolve("p", "r")).toBeUndefined();
    expect(JSON.stringify(w.engine.networks.inspect(one.name).leases)).not.toContain('"r"');
    // q started again (its record kept): back in p's view under its alias, at its new lease.
    expect((await w.husk(["start", "q"])).code).toBe(0);
    expect(await resolve("p", "queue")).toBe(await address("q", one.name));
    expect(await resolve("q", "p")).toBe(await address("p", one.name));
    for (const n of ["p", "q"]) expect((await w.husk(["rm", "-f", n])).code).toBe(0);
    expect(w.engine.networks.inspect(one.name).leases).toEqual([]);
  });

  test("the default network gives no names (as docker's bridge)", async () => {
    // An engine whose default network is this world's network one: containers on it get none.
    const engine = new Engine({
      dataRoot: w.dataRoot,
      stateRoot: w.stateRoot,
      nftTable: w.table,
      ipForward: false,
      defaultNetwork: { name: one.name },
    });
    const x = await engine.start("busybox", ["sleep", "300"], { name: "x", dns: ["127.0.0.1"] });
    const y = await engine.start("busybox", ["sleep", "300"], { name: "y", dns: ["127.0.0.1"] });
    try {
      const r = await engine.exec("y", ["ping", "-c", "1", "-W", "1", "x"]);
      expect(r.stderr).toContain("bad address");
      expect(await hosts("y")).not.toContain("# other containers");
    } finally {
      await x.remove({ force: true });
      await y.remove({ force: true });
    }
  });

  test("--add-host, --dns, --dns-search, --dns-option are in the files; bad values name the flag and leave nothing", async () => {
    const r = await w.husk([
      "run",
      "--rm",
      "--network",
      one.name,
      "--add-host",
      "db.internal:10.9.8.7",
      "--add-host",
      "v6:fd00::1",
      "--add-host",
      "gw:host-gateway",
      "--dns",
      "10.0.0.53",
      "--dns",
      "10.0.0.54",
      "--dns-search",
      "corp.test",
      "--dns-option",
      "ndots:3",
      "busybox",
      "sh",
      "-c",
      "cat /etc/hosts /etc/resolv.conf; ping -c1 -W1 db.internal | head -1",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const gateway = w.engine.networks.inspect(one.name).network.gateway;
    expect(r.stdout).toContain("10.9.8.7\tdb.internal\n");
    expect(r.stdout).toContain("fd00::1\tv6\n");
    expect(r.stdout).toContain(`${gateway}\tgw\n`);
    expect(r.stdout).toContain("nameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch corp.test\noptions ndots:3\n");
    expect(r.stdout).toContain("PING db.internal (10.9.8.7)");
    const cases: [string[], string][] = [
      [["--add-host", "nocolon"], "--add-host"],
      [["--add-host", "x:999.1.1.1"], "--add-host"],
      [["--add-host", "bad name:10.0.0.1"], "--add-host"],
      [["--dns", "resolver.example"], "--dns"],
      [["--dns-search", "bad domain"], "--dns-search"],
      [["--dns-option", "ndots 2"], "--dns-option"],
      [["--network-alias", "al"], "--network-alias"],
      [["--network", "none", "--add-host", "gw:host-gateway"], "host-gateway"],
    ];
    for (const [flags, word] of cases) {
      const bad = await w.husk(["run", "--rm", ...flags, "busybox", "true"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain(word);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(await w.engine.list({ all: true })).toEqual([]);
  });
});
