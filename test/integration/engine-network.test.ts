/**
 * Engine networking: containers on a bridge network get eth0 with an address (in /etc/hosts
 * too), reach each other by address, a published port answers on 127.0.0.1, and stop/rm
 * release the veth, the lease and the port's nftables elements. Each test world has its own
 * bridge, subnet and nftables table; traffic stays on loopback and the test's bridge.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Engine } from "../../src/engine/engine.ts";
import { type EngineWorld, engineWorld, HUSK_ENGINE, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine network", () => {
  let w: EngineWorld;
  let net: { name: string; bridge: string; subnet: string };
  beforeAll(async () => {
    w = engineWorld();
    net = await w.network("a");
  });
  afterAll(async () => {
    await w.cleanup();
    expect(existsSync(`/sys/class/net/${net.bridge}`)).toBe(false);
  });

  /** The engine's CLI run with HUSK_TRACE: its result, and how many helper processes it started. */
  const traced = (args: string[]) => {
    const r = spawnSync(HUSK_ENGINE, args, { env: { ...w.env, HUSK_TRACE: "1" }, encoding: "utf8" });
    return { ...r, helpers: r.stderr.split("\n").filter((l) => l.endsWith(" runtime: launch: helper spawned")).length };
  };

  const nftElements = () => spawnSync("nft", ["list", "table", "inet", w.table], { encoding: "utf8" }).stdout;

  /**
   * `one` n times, four at a time: the containers whose leases an attach found with their owner
   * gone meanwhile (and so reclaimed under the networks' lock), seen through the engine's
   * Networks' owner check.
   */
  const reclaimedDuring = async (n: number, one: () => Promise<void>): Promise<string[]> => {
    const nets = w.engine.networks as unknown as { alive: (l: { containerId: string }) => boolean | Promise<boolean> };
    const alive = nets.alive;
    const reclaimed: string[] = [];
    nets.alive = async (l) => {
      const yes = await alive(l);
      if (!yes) reclaimed.push(l.containerId);
      return yes;
    };
    try {
      let left = n;
      const lane = async () => {
        while (left-- > 0) await one();
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
    } finally {
      nets.alive = alive;
    }
    return reclaimed;
  };

  test("two containers on a bridge reach each other; a published port answers on 127.0.0.1; rm releases all", async () => {
    const server = await w.husk([
      "run",
      "-d",
      "--name",
      "srv",
      "--network",
      net.name,
      "-p",
      "127.0.0.1::80",
      "busybox",
      "sh",
      "-c",
      "mkdir /www && echo hello-from-srv > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    expect(server.code).toBe(0);
    const info = await w.engine.inspect("srv");
    const address = info.NetworkSettings.Networks[net.name]!.IPAddress;
    expect(address).toMatch(/^10\./);
    const hostPort = Number(info.NetworkSettings.Ports["80/tcp"]![0]!.HostPort);
    expect(hostPort).toBeGreaterThan(0);
    const rec = w.engine.record("srv");
    const veth = rec.networks[0]!.hostVeth;
    expect(existsSync(`/sys/class/net/${veth}`)).toBe(true);
    expect(nftElements()).toContain(String(hostPort));
    // The other container, by address (busybox wget).
    let body = "";
    await until(
      async () => {
        const c = await w.husk(["run", "--rm", "--network", net.name, "busybox", "wget", "-q", "-O", "-", `http://${address}/`]);
        body = c.stdout;
        return c.code === 0;
      },
      5000,
      "httpd to answer",
    );
    expect(body).toBe("hello-from-srv\n");
    // The published port, from the host's loopback.
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    expect(await res.text()).toBe("hello-from-srv\n");
    // /etc/hosts names the container's address.
    const hosts = await w.husk(["exec", "srv", "cat", "/etc/hosts"]);
    expect(hosts.stdout).toContain(`${address}\t${info.Config.Hostname} srv`);
    expect((await w.husk(["stop", "-t", "0", "srv"])).code).toBe(0);
    // Its namespace died with it: the kernel deletes the veth in its namespace cleanup, a work
    // queue (engine.ts' namespaceGone), as after rm -f below; a busy host runs it later.
    await until(async () => !existsSync(`/sys/class/net/${veth}`), 10000, "the veth to go");
    expect(nftElements()).not.toContain(String(hostPort));
    expect((await w.husk(["rm", "srv"])).code).toBe(0);
    expect(w.leftovers(info.Id, [veth])).toEqual([]);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("a foreground container's lease is this process's (which gives it back), taken before its namespaces; port and hosts as before", async () => {
    expect((await w.husk(["run", "-d", "--name", "peer", "--network", net.name, "busybox", "sleep", "30"])).code).toBe(0);
    const p = await w.engine.spawn("busybox", ["sleep", "30"], { network: net.name, ports: ["127.0.0.1::80"], name: "fg" });
    try {
      // Each sees the other by name (user network): the hosts files were made with the lease.
      const peer = w.engine.record("peer").networks[0]!.address;
      expect((await w.husk(["exec", "fg", "cat", "/etc/hosts"])).stdout).toContain(`${peer}\tpeer `);
      const fgHosts = (await w.husk(["exec", "peer", "cat", "/etc/hosts"])).stdout;
      expect(fgHosts).toContain(`\tfg `);
      const rec = w.engine.record("fg");
      const lease = w.engine.networks.inspect(net.name).leases.find((l) => l.containerId === rec.id);
      // Not its helper (the container's parent), which exits with the container, before this
      // process has given the lease back.
      const ppid = Number(readFileSync(`/proc/${rec.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      expect(lease?.owner?.pid).toBe(process.pid);
      expect(lease?.owner?.pid).not.toBe(ppid);
      expect(lease?.address).toBe(rec.networks[0]!.address);
      expect(rec.networks[0]!.ports.length).toBe(1);
      expect(nftElements()).toContain(String(rec.networks[0]!.ports[0]!.hostPort));
      const hosts = await w.husk(["exec", "fg", "cat", "/etc/hosts"]);
      expect(hosts.stdout).toContain(`${lease!.address}\t`);
      const addr = await w.husk(["exec", "fg", "ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
      expect(addr.stdout).toContain(`inet ${lease!.address}/`);
    } finally {
      p.kill("SIGKILL");
      await p.exited.catch(() => {});
    }
    expect(w.engine.networks.inspect(net.name).leases.map((l) => l.containerId)).toEqual([w.engine.record("peer").id]);
    expect((await w.husk(["exec", "peer", "cat", "/etc/hosts"])).stdout).not.toContain("\tfg ");
    expect((await w.husk(["rm", "-f", "peer"])).code).toBe(0);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("a foreground container's veth is made by its own helper (parentNetlink): one helper started, eth0 ready before its command", () => {
    const show = "ip -o -4 addr show dev eth0; ip route; cat /sys/class/net/eth0/operstate";
    const r = traced(["run", "--rm", "--network", net.name, "busybox", "sh", "-c", show]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/inet 10\.[0-9.]+\//);
    expect(r.stdout).toMatch(/^default via 10\.[0-9.]+ dev eth0/m);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("up");
    // The attach had a helper of its own before: two spawns.
    expect(r.helpers).toBe(1);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("a detached container's veth is made by its own helper too; its lease is its monitor's, kept while it runs", async () => {
    const r = traced(["run", "-d", "--name", "det", "--network", net.name, "busybox", "sleep", "60"]);
    expect([r.status, r.helpers]).toEqual([0, 1]);
    const info = await w.engine.inspect("det");
    const address = info.NetworkSettings.Networks[net.name]!.IPAddress;
    const lease = w.engine.networks.inspect(net.name).leases.find((l) => l.containerId === info.Id);
    // Its helper gives way to its monitor, another process (the init's parent): the monitor owns
    // the lease, and gives it back (as `husk _exited`, the same process) before it goes.
    const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(lease?.owner?.pid).toBe(parentOf(info.State.Pid));
    expect(lease?.owner?.pid).toBe(w.engine.record("det").monitorPid);
    const inside = await w.husk(["exec", "det", "sh", "-c", "ip -o -4 addr show dev eth0; ip route"]);
    expect(inside.stdout).toContain(`inet ${address}/`);
    expect(inside.stdout).toMatch(/^default via 10\.[0-9.]+ dev eth0/m);
    // Another container gets another address while it runs, and reaches it.
    const ping = `ip -o -4 addr show dev eth0; ping -c 1 -W 2 ${address}`;
    const other = await w.husk(["run", "--rm", "--network", net.name, "busybox", "sh", "-c", ping]);
    expect(other.code).toBe(0);
    expect(other.stdout).not.toContain(`inet ${address}/`);
    // Started again after a stop: the same path, a new lease of the new monitor's.
    expect((await w.husk(["stop", "-t", "0", "det"])).code).toBe(0);
    expect((await w.husk(["start", "det"])).code).toBe(0);
    const again = await w.engine.inspect("det");
    const lease2 = w.engine.networks.inspect(net.name).leases.find((l) => l.containerId === info.Id);
    expect(lease2?.owner?.pid).toBe(parentOf(again.State.Pid));
    expect(lease2?.owner?.pid).not.toBe(lease?.owner?.pid);
    expect((await w.husk(["rm", "-f", "det"])).code).toBe(0);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("--network none, detached: lo is up from its own plan, no helper of the attach's", async () => {
    const r = traced(["run", "-d", "--name", "lone", "--network", "none", "busybox", "sleep", "60"]);
    expect([r.status, r.helpers]).toEqual([0, 1]);
    const lo = await w.husk(["exec", "lone", "cat", "/sys/class/net/lo/operstate", "/sys/class/net/lo/flags"]);
    expect(lo.stdout.split("\n")[0]).toBe("unknown"); // lo is "unknown" when up
    expect(Number(lo.stdout.split("\n")[1]) & 1).toBe(1); // IFF_UP
    expect((await w.husk(["rm", "-f", "lone"])).code).toBe(0);
  });

  test("the default network, once made, is checked under its lease's lock: a bridge gone (a reboot) is made again; other options are refused", async () => {
    const h = [...w.id].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
    const bridge = `hkd${w.id}`.slice(0, 15);
    const subnet = `10.${200 + (h % 50)}.${(h >>> 8) % 250}.240/28`;
    const opts = { dataRoot: w.dataRoot, stateRoot: w.stateRoot, nftTable: w.table, ipForward: false };
    const engine = new Engine({ ...opts, defaultNetwork: { name: "dflt", bridge, subnet } });
    const ip = ["ip", "-o", "-4", "addr", "show", "dev", "eth0"];
    try {
      const first = await engine.run("busybox", ip, { network: "bridge" });
      expect(first.stdout).toContain("inet 10.");
      expect(engine.networks.isMade("dflt")).toBe(true);
      spawnSync("ip", ["link", "del", bridge]);
      expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
      const again = await engine.run("busybox", ip, { network: "bridge" });
      expect({ code: again.exitCode, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(again.stdout).toContain("inet 10.");
      expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true);
      // The same network asked for with another subnet: refused by the lease, nothing left.
      const other = new Engine({ ...opts, defaultNetwork: { name: "dflt", bridge, subnet: "10.199.199.0/28" } });
      await expect(other.run("busybox", ["true"], { network: "bridge" })).rejects.toThrow(
        `network dflt exists with subnet ${subnet}`,
      );
      await other.idle();
      expect(engine.networks.inspect("dflt").leases).toEqual([]);
      expect(await engine.list({ all: true })).toEqual([]);
    } finally {
      await engine.idle();
      await engine.networks.removeNetwork("dflt").catch(() => {});
    }
  });

  test("50 foreground containers started at once: 50 distinct addresses, each on its eth0; all released after", async () => {
    // A subnet of husk's choosing (no host route uses it): the worlds' /28s are too small.
    const wide = `${net.name}p`;
    const made = await w.husk(["network", "create", "--bridge", `${net.bridge}p`.slice(0, 15), wide]);
    expect(made.code).toBe(0);
    const procs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => w.engine.spawn("busybox", ["sleep", "60"], { network: wide, name: `par${i}` })),
    );
    try {
      const leases = w.engine.networks.inspect(wide).leases;
      expect(leases.length).toBe(50);
      expect(new Set(leases.map((l) => l.address)).size).toBe(50);
      for (const i of [0, 24, 49]) {
        const rec = w.engine.record(`par${i}`);
        const addr = await w.husk(["exec", `par${i}`, "ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
        expect(addr.stdout).toContain(`inet ${rec.networks[0]!.address}/`);
        expect(leases.find((l) => l.containerId === rec.id)?.address).toBe(rec.networks[0]!.address);
      }
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited.catch(() => {})));
    }
    expect(w.engine.networks.inspect(wide).leases).toEqual([]);
    expect((await w.husk(["network", "rm", wide])).code).toBe(0);
  });

  test("foreground runs four at a time: each lease is given back by its run, none reclaimed as its owner's (its helper had gone first)", async () => {
    // Every lease a reserve finds with its owner gone is reclaimed there, under the networks'
    // lock, its veth deleted: with the helper as owner, that was half of these runs' leases.
    const reclaimed = await reclaimedDuring(24, async () => {
      expect((await w.engine.run("busybox", ["true"], { network: net.name })).exitCode).toBe(0);
    });
    expect(reclaimed).toEqual([]);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("detached containers started and removed four at a time: none of their leases reclaimed as its owner's", async () => {
    // The init owned a detached container's lease: it dies first, and an attach meanwhile
    // reclaimed the lease under the networks' lock before the monitor or remove gave it back.
    const reclaimed = await reclaimedDuring(16, async () => {
      const box = await w.engine.start("busybox", ["sleep", "60"], { network: net.name });
      await box.remove({ force: true });
    });
    expect(reclaimed).toEqual([]);
    await until(async () => w.engine.networks.inspect(net.name).leases.length === 0, 10000, "the leases given back");
  });

  test("the CLI SIGKILLed while its container runs: the container goes with it, its lease is reclaimed, rm -f leaves nothing", async () => {
    const cli = Bun.spawn([HUSK_ENGINE, "run", "--name", "killed", "--network", net.name, "busybox", "sleep", "1000"], {
      env: w.env,
      stdio: ["ignore", "ignore", "ignore"],
    });
    await until(async () => w.engine.networks.inspect(net.name).leases.length === 1, 10000, "the lease");
    const [lease] = w.engine.networks.inspect(net.name).leases;
    await until(async () => existsSync(`/sys/class/net/${lease!.hostVeth}`), 10000, "the veth");
    cli.kill("SIGKILL");
    await cli.exited;
    // The CLI owned the lease (and its death kills the container): the next lease reclaims it.
    expect(lease!.owner!.pid).toBe(cli.pid);
    expect((await w.husk(["run", "--rm", "--network", net.name, "busybox", "true"])).code).toBe(0);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
    const id = w.engine.record("killed").id;
    expect((await w.husk(["rm", "-f", "killed"])).code).toBe(0);
    await until(async () => !existsSync(`/sys/class/net/${lease!.hostVeth}`), 10000, "the veth to go");
    expect(w.leftovers(id, [lease!.hostVeth])).toEqual([]);
  });

  test("a foreground container that fails to start after its lease was taken leaves no lease", async () => {
    await expect(w.engine.run("busybox", ["/no/such/program"], { network: net.name })).rejects.toThrow(
      /no\/such\/program|not found|ENOENT/,
    );
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  });

  test("--network none has only lo (up); ns:PATH joins a namespace; network ls/inspect/rm", async () => {
    const none = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up",
    ]);
    expect(none.stdout).toBe("lo\nlo-up\n");
    const ls = await w.husk(["network", "ls"]);
    expect(ls.stdout).toContain(net.name);
    const other = await w.network("b");
    const insp = JSON.parse((await w.husk(["network", "inspect", other.name])).stdout);
    expect(
      (await w.husk(["network", "inspect", "-f", '{{index .Options "com.docker.network.bridge.name"}}', other.name])).stdout,
    ).toBe(`${other.bridge}\n`);
    expect((await w.husk(["network", "ls", "--format", "{{.Name}} {{.Subnet}}"])).stdout).toContain(
      `${other.name} ${other.subnet}\n`,
    );
    expect(insp[0].IPAM.Config[0].Subnet).toBe(other.subnet);
    const busy = (await w.husk(["run", "-d", "--network", other.name, "busybox", "sleep", "60"])).stdout.trim();
    const refused = await w.husk(["network", "rm", other.name]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("in use");
    await w.husk(["rm", "-f", busy]);
    expect((await w.husk(["network", "rm", other.name])).code).toBe(0);
    expect(existsSync(`/sys/class/net/${other.bridge}`)).toBe(false);
  });

  test("netns add/ls/exec/rm, and a container joining it with ns:PATH", async () => {
    const name = `husk-engine-test-${w.id}`;
    expect((await w.husk(["netns", "add", name])).code).toBe(0);
    try {
      expect((await w.husk(["netns", "ls"])).stdout.split("\n")).toContain(name);
      const inside = await w.husk(["netns", "exec", name, "sh", "-c", "readlink /proc/self/ns/net"]);
      const r = await w.husk(["run", "--rm", "--network", `ns:/run/netns/${name}`, "busybox", "readlink", "/proc/self/ns/net"]);
      expect(r.stdout).toBe(inside.stdout);
      expect(inside.stdout).not.toBe(spawnSync("readlink", ["/proc/self/ns/net"], { encoding: "utf8" }).stdout);
      expect((await w.husk(["netns", "exec", name, "sh", "-c", "exit 4"])).code).toBe(4);
    } finally {
      expect((await w.husk(["netns", "rm", name])).code).toBe(0);
    }
    expect((await w.husk(["netns", "ls"])).stdout.split("\n")).not.toContain(name);
  });
  test("network connect gives a running container eth1 on a second network, traffic flows over it; disconnect takes it off", async () => {
    const other = await w.network("b");
    const srv = await w.husk([
      "run",
      "-d",
      "--name",
      "srv2",
      "--network",
      other.name,
      "busybox",
      "sh",
      "-c",
      "mkdir /www && echo hello-over-eth1 > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    expect(srv.code).toBe(0);
    const srvAddress = (await w.engine.inspect("srv2")).NetworkSettings.Networks[other.name]!.IPAddress;
    const c = await w.husk(["run", "-d", "--name", "client", "--network", net.name, "busybox", "sleep", "60"]);
    expect(c.code).toBe(0);
    expect((await w.husk(["network", "connect", other.name, "client"])).code).toBe(0);
    const links = await w.husk(["exec", "client", "ip", "-o", "-4", "addr", "show", "eth1"]);
    expect(links.stdout).toContain("eth1");
    // No second default route: eth0 keeps it; the second subnet is reached directly.
    const routes = (await w.husk(["exec", "client", "ip", "route"])).stdout;
    expect(routes.match(/^default/gm)?.length).toBe(1);
    let body = "";
    await until(
      async () => {
        // (Debian's busybox wget crashes on -T: no timeout option here.)
        const r = await w.husk(["exec", "client", "wget", "-q", "-O", "-", `http://${srvAddress}/`]);
        body = r.stdout;
        return r.code === 0;
      },
      5000,
      "the server over eth1",
    );
    expect(body).toBe("hello-over-eth1\n");
    expect((await w.husk(["network", "connect", other.name, "client"])).stderr).toContain("already connected");
    const veth = w.engine.record("client").networks[1]!.hostVeth;
    expect((await w.husk(["network", "disconnect", other.name, "client"])).code).toBe(0);
    expect(existsSync(`/sys/class/net/${veth}`)).toBe(false);
    expect((await w.husk(["exec", "client", "ip", "-o", "link"])).stdout).not.toContain("eth1");
    for (const n of ["client", "srv2"]) await w.husk(["rm", "-f", n]);
  });
});
