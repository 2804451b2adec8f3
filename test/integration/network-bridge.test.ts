/**
 * Bridge networks on the real kernel: a test bridge and nftables table, containers as pinned
 * network namespaces the test made. Two of them reach each other and a server on the gateway; a
 * published port answers on 127.0.0.1; detach, removeNetwork and reset leave nothing behind.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { LINK_MTU } from "../../src/network/links.ts";
import { mask, overlaps, parseRoutes, parseSubnet, subnetText } from "../../src/network/subnet.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { type NetWorld, netWorld, nftElements, nftTableExists, sh } from "../fixtures/network.ts";

let w: NetWorld;

/** Connect to host:port, read until the other side closes. */
function fetchLine(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const sock = connect({ host, port }, () => sock.end());
    sock.setTimeout(5000, () => sock.destroy(new Error(`timeout talking to ${host}:${port}`)));
    sock.on("data", (d) => (data += d));
    sock.on("error", reject);
    sock.on("close", () => resolve(data));
  });
}

describeAsRoot("network: bridge", () => {
  beforeEach(() => {
    w = netWorld();
  });
  afterEach(async () => {
    await w.cleanup();
  });

  test("ensureNetwork: bridge up with the gateway, its MTU, table and elements; ensure again changes nothing", async () => {
    const def = await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    expect(def).toMatchObject({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24", gateway: "10.213.0.1" });
    const addr = sh("ip", ["-j", "addr", "show", "dev", w.bridge()]).stdout;
    const link = JSON.parse(addr)[0];
    expect(link.operstate === "UP" || link.flags.includes("UP")).toBe(true);
    expect(
      link.addr_info
        .filter((a: { family: string }) => a.family === "inet")
        .map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`),
    ).toEqual(["10.213.0.1/24"]);
    expect(link.address).toBe(def.mac);
    expect(Number(readFileSync(`/sys/class/net/${w.bridge()}/mtu`, "utf8"))).toBe(LINK_MTU);
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${w.bridge()}/route_localnet`, "utf8").trim()).toBe("1");
    expect(nftTableExists(w.table)).toBe(true);
    expect(JSON.stringify(nftElements(w.table, "nets4", "set"))).toContain("10.213.0.0");
    expect(await w.nets.ensureNetwork({ name: "t" })).toEqual(def);
    await expect(w.nets.ensureNetwork({ name: "t", subnet: "10.214.0.0/24" })).rejects.toThrow(
      /exists with subnet 10.213.0.0\/24/,
    );
  });

  test("ensureNetwork makes again what is gone (a reboot, a process killed half way), and never adopts a stranger's bridge", async () => {
    const def = await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    const hasRoute = () => sh("ip", ["-o", "route", "show", "dev", w.bridge()]).stdout.includes("10.213.0.0/24");
    // What the next ensureNetwork checks without the lock and the routes: the bridge's ifindex (and that it is up).
    const ifindex = () => Number(readFileSync(`/sys/class/net/${w.bridge()}/ifindex`, "utf8"));
    expect(w.nets.inspect("t").bridgeIndex).toBe(ifindex());
    sh("ip", ["addr", "flush", "dev", w.bridge()]);
    sh("ip", ["link", "set", w.bridge(), "down"]);
    expect(hasRoute()).toBe(false);
    expect(await w.nets.ensureNetwork({ name: "t" })).toEqual(def);
    expect(hasRoute()).toBe(true);
    sh("ip", ["link", "del", w.bridge()]);
    sh("nft", ["delete", "table", "inet", w.table]);
    expect(await w.nets.ensureNetwork({ name: "t" })).toEqual(def);
    expect(hasRoute()).toBe(true);
    expect(w.nets.inspect("t").bridgeIndex).toBe(ifindex());
    expect(JSON.stringify(nftElements(w.table, "nets4", "set"))).toContain("10.213.0.0");
    // Someone else's interface under the bridge's name: refused, left alone.
    sh("ip", ["link", "del", w.bridge()]);
    sh("ip", ["link", "add", w.bridge(), "type", "bridge"]);
    await expect(w.nets.ensureNetwork({ name: "t" })).rejects.toThrow(/exists on the host and is not network t's bridge/);
    expect(readdirSync("/sys/class/net")).toContain(w.bridge());
    await w.nets.removeNetwork("t");
    expect(readdirSync("/sys/class/net")).toContain(w.bridge());
  });

  test("ensureNetwork without a subnet picks one no host route and no other network uses", async () => {
    const first = await w.nets.ensureNetwork({ name: "p", bridge: w.bridge("p") });
    const second = await w.nets.ensureNetwork({ name: "q", bridge: w.bridge("q") });
    const routes = parseRoutes(readFileSync("/proc/net/route", "utf8")).filter(
      (r) => r.iface !== w.bridge("p") && r.iface !== w.bridge("q"),
    );
    for (const def of [first, second]) {
      expect(routes.some((r) => overlaps(r.dest, parseSubnet(def.subnet)))).toBe(false);
      expect(def.gateway).toBe(def.subnet.replace(/0\/\d+$/, "1"));
    }
    expect(overlaps(parseSubnet(first.subnet), parseSubnet(second.subnet))).toBe(false);
  });

  test("user subnets: overlap with a network or a host route, a gateway outside, a taken bridge name: clear errors, nothing made", async () => {
    await w.nets.ensureNetwork({ name: "a", bridge: w.bridge("a"), subnet: "10.213.0.0/24" });
    const before = readdirSync("/sys/class/net").sort();
    await expect(w.nets.ensureNetwork({ name: "b", bridge: w.bridge("b"), subnet: "10.213.0.128/25" })).rejects.toThrow(
      /overlaps network a \(10.213.0.0\/24\)/,
    );
    // A route of the host (whatever this machine has besides the default route) rules its subnet out.
    const route = parseRoutes(readFileSync("/proc/net/route", "utf8")).find((r) => r.iface !== w.bridge("a"));
    if (route) {
      const prefix = Math.min(Math.max(route.dest.prefix, 8), 30);
      const subnet = subnetText({ network: (route.dest.network & mask(prefix)) >>> 0, prefix });
      await expect(w.nets.ensureNetwork({ name: "b", bridge: w.bridge("b"), subnet })).rejects.toThrow(
        `overlaps the host's route to ${subnetText(route.dest)} on ${route.iface}`,
      );
    }
    await expect(
      w.nets.ensureNetwork({ name: "b", bridge: w.bridge("b"), subnet: "10.214.0.0/24", gateway: "10.215.0.1" }),
    ).rejects.toThrow(/gateway 10.215.0.1 is outside the subnet/);
    await expect(w.nets.ensureNetwork({ name: "b", bridge: w.bridge("b"), subnet: "10.214.0.0/33" })).rejects.toThrow(
      /invalid subnet/,
    );
    await expect(w.nets.ensureNetwork({ name: "b", bridge: w.bridge("a"), subnet: "10.214.0.0/24" })).rejects.toThrow(
      /bridge .* belongs to network a/,
    );
    await expect(w.nets.ensureNetwork({ name: "b", bridge: "lo", subnet: "10.214.0.0/24" })).rejects.toThrow(
      /an interface named lo exists/,
    );
    await expect(w.nets.ensureNetwork({ name: "b/c" })).rejects.toThrow(/invalid network name/);
    expect(readdirSync("/sys/class/net").sort()).toEqual(before);
    expect(w.nets.list().map((n) => n.name)).toEqual(["a"]);
  });

  test("two containers ping each other; a server on the gateway answers from inside; detach releases", async () => {
    const def = await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
    expect([ea.address, eb.address]).toEqual(["10.213.0.2", "10.213.0.3"]);
    expect(ea).toMatchObject({ ifname: "eth0", gateway: "10.213.0.1", prefix: 24, mtu: def.mtu, linkMtu: LINK_MTU });

    // Inside: eth0 with the MAC, MTU and address; lo up; the default route via the gateway.
    const link = JSON.parse(w.exec(a.name, ["ip", "-j", "addr", "show"]).stdout) as {
      ifname: string;
      address: string;
      mtu: number;
      operstate: string;
      addr_info: { family: string; local: string }[];
    }[];
    const eth0 = link.find((l) => l.ifname === "eth0")!;
    expect(eth0.address).toBe(ea.mac);
    expect(eth0.mtu).toBe(LINK_MTU);
    expect(eth0.addr_info.filter((x) => x.family === "inet").map((x) => x.local)).toEqual([ea.address]);
    expect(link.find((l) => l.ifname === "lo")!.addr_info.some((x) => x.local === "127.0.0.1")).toBe(true);
    expect(w.exec(a.name, ["ip", "route", "show", "default"]).stdout).toContain(`default via 10.213.0.1 dev eth0 mtu ${def.mtu}`);
    // The link's MTU to the gateway and the other containers; the network's to what is past the
    // host (a route lookup: nothing is sent to 192.0.2.1).
    expect(w.exec(a.name, ["ip", "route", "get", "192.0.2.1"]).stdout).toContain(`mtu ${def.mtu}`);
    expect(w.exec(a.name, ["ip", "route", "get", eb.address]).stdout).not.toContain("mtu");
    expect(Number(readFileSync(`/sys/class/net/${w.bridge()}/mtu`, "utf8"))).toBe(LINK_MTU);
    // The host end is on the bridge.
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`)).toContain(ea.hostVeth);

    expect(w.exec(a.name, ["busybox", "ping", "-c", "1", "-W", "3", eb.address]).status).toBe(0);
    expect(w.exec(b.name, ["busybox", "ping", "-c", "1", "-W", "3", ea.address]).status).toBe(0);

    const server = createServer((s) => s.end(`hello ${s.remoteAddress}\n`));
    await new Promise<void>((resolve) => server.listen(0, def.gateway, resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await w.execAsync(b.name, ["busybox", "nc", "-w", "3", def.gateway, String(port)]);
      expect(r.stdout).toBe(`hello ${eb.address}\n`);
    } finally {
      server.close();
    }

    await expect(w.nets.removeNetwork("t")).rejects.toThrow(/in use by containers ctr-a, ctr-b/);
    expect((await w.nets.detach({ network: "t", containerId: "ctr-a" })).map((l) => l.address)).toEqual([ea.address]);
    expect(readdirSync("/sys/class/net")).not.toContain(ea.hostVeth);
    expect(w.exec(a.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
    expect(w.nets.inspect("t").leases.map((l) => l.containerId)).toEqual(["ctr-b"]);
    // Detaching what is not attached is no error; the freed address is handed out again.
    expect(await w.nets.detach({ network: "t", containerId: "ctr-a" })).toEqual([]);
    expect((await w.nets.attach({ network: "t", containerId: "ctr-c", netnsPath: a.path })).address).toBe(ea.address);
  });

  test("a TCP connection to the gateway takes the link's MSS; a bridge with a smaller port gives new veths its MTU", async () => {
    const def = await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24", mtu: 1400 });
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    const server = createServer((s) => s.end("x"));
    await new Promise<void>((resolve) => server.listen(0, def.gateway, resolve));
    try {
      // busybox nc's connection, read from the kernel's side while it is open.
      const port = (server.address() as { port: number }).port;
      const nc = `(sleep 1) | busybox nc ${def.gateway} ${port} >/dev/null 2>&1 &`;
      const info = w.exec(a.name, ["sh", "-c", `${nc} sleep 0.3; ss -tin dst ${def.gateway}`]).stdout;
      expect(info).toContain(" pmtu:65535 ");
      expect(info).toContain(" advmss:65483 ");
    } finally {
      server.close();
    }
    // A veth an older husk made, at the network's MTU, still on the bridge: a new one matches it.
    sh("ip", ["link", "add", `${w.bridge()}o`, "mtu", "1400", "type", "veth", "peer", "name", `${w.bridge()}p`]);
    try {
      sh("ip", ["link", "set", `${w.bridge()}o`, "master", w.bridge(), "up"]);
      const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
      expect(eb.linkMtu).toBe(1400);
      expect(readFileSync(`/sys/class/net/${eb.hostVeth}/mtu`, "utf8").trim()).toBe("1400");
    } finally {
      sh("ip", ["link", "del", `${w.bridge()}o`]);
    }
  });

  test("a second interface: eth1 on another network, no second default route", async () => {
    await w.nets.ensureNetwork({ name: "t1", bridge: w.bridge("1"), subnet: "10.213.1.0/24" });
    await w.nets.ensureNetwork({ name: "t2", bridge: w.bridge("2"), subnet: "10.213.2.0/24" });
    const a = await w.netns("a");
    await w.nets.attach({ network: "t1", containerId: "c", netnsPath: a.path });
    const e1 = await w.nets.attach({ network: "t2", containerId: "c", netnsPath: a.path, ifname: "eth1" });
    expect(e1.address).toBe("10.213.2.2");
    const routes = w.exec(a.name, ["ip", "route"]).stdout;
    expect(routes.match(/^default/gm)?.length).toBe(1);
    expect(routes).toContain("default via 10.213.1.1 dev eth0");
    expect(routes).toContain("10.213.2.0/24 dev eth1");
    expect(w.exec(a.name, ["busybox", "ping", "-c", "1", "-W", "3", "10.213.2.1"]).status).toBe(0);
  });

  test("a failed attach takes back its lease and veth: a namespace that does not exist", async () => {
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    await expect(w.nets.attach({ network: "t", containerId: "x", netnsPath: "/run/netns/husk-test-none" })).rejects.toThrow(
      /no such file or directory/,
    );
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(w.leftovers()).toEqual([w.bridge()]);
    await expect(w.nets.attach({ network: "nope", containerId: "x", netnsPath: "/x" })).rejects.toThrow(
      /network nope does not exist/,
    );
  });

  test("an interface name taken in the container: the netlink message that failed is named", async () => {
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    const a = await w.netns("a");
    w.exec(a.name, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
    const err = await w.nets.attach({ network: "t", containerId: "x", netnsPath: a.path }).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /create eth0 \(index \d+\) with its peer husk-[0-9a-f]+ in the host's namespace: file exists \(EEXIST\)/,
    );
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(w.leftovers()).toEqual([w.bridge()]);
  });

  test("a published port answers on 127.0.0.1 and on the gateway; a port in use is refused before anything changes", async () => {
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    const a = await w.netns("a");
    const e = await w.nets.attach({ network: "t", containerId: "web", netnsPath: a.path });
    const server = Bun.spawn(
      ["ip", "netns", "exec", a.name, "busybox", "nc", "-ll", "-p", "80", "-e", "echo", "hello from web"],
      {
        stdio: ["ignore", "ignore", "ignore"],
      },
    );
    try {
      const [fixed, random] = [
        await w.nets.publish({ network: "t", containerAddress: e.address, ports: [{ containerPort: 80 }] }),
        await w.nets.publish({ network: "t", containerAddress: e.address, ports: [{ containerPort: 80, hostIp: "127.0.0.1" }] }),
      ];
      expect(fixed[0]!.hostPort).toBeGreaterThan(0);
      expect(random[0]).toMatchObject({ hostIp: "127.0.0.1", containerPort: 80, proto: "tcp" });
      // The server may take a moment to listen.
      let answer = "";
      for (let i = 0; i < 50 && answer === ""; i++) {
        answer = await fetchLine("127.0.0.1", fixed[0]!.hostPort).catch(() => "");
        if (answer === "") await Bun.sleep(100);
      }
      expect(answer).toBe("hello from web\n");
      expect(await fetchLine("127.0.0.1", random[0]!.hostPort)).toBe("hello from web\n");
      expect(await fetchLine("10.213.0.1", fixed[0]!.hostPort)).toBe("hello from web\n");

      // In use on the host, or published by a container already: refused, and no element added.
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
      const busyPort = (busy.address() as { port: number }).port;
      const elements = JSON.stringify(nftElements(w.table, "ports4"));
      try {
        await expect(
          w.nets.publish({
            network: "t",
            containerAddress: e.address,
            ports: [
              { containerPort: 81, hostPort: 18081 },
              { containerPort: 80, hostPort: busyPort },
            ],
          }),
        ).rejects.toThrow(new RegExp(`host port ${busyPort}/tcp is already in use`));
      } finally {
        busy.close();
      }
      await expect(
        w.nets.publish({
          network: "t",
          containerAddress: e.address,
          ports: [{ containerPort: 80, hostPort: fixed[0]!.hostPort }],
        }),
      ).rejects.toThrow(/is already published by container web/);
      expect(JSON.stringify(nftElements(w.table, "ports4"))).toBe(elements);
      expect(w.nets.inspect("t").leases[0]!.ports.length).toBe(2);

      // Detach takes the ports with it.
      await w.nets.detach({ network: "t", containerId: "web" });
      expect(nftElements(w.table, "ports4")).toEqual([]);
      expect(nftElements(w.table, "hostports4")).toEqual([]);
    } finally {
      server.kill("SIGKILL");
      await server.exited;
    }
  });

  test("removeNetwork and reset leave no bridge, veth, element, table or lease", async () => {
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.0.0/24" });
    await w.nets.ensureNetwork({ name: "u", bridge: w.bridge("u"), subnet: "10.213.1.0/24" });
    const a = await w.netns("a");
    await w.nets.removeNetwork("t");
    expect(w.leftovers()).toEqual([w.bridge("u")]);
    expect(JSON.stringify(nftElements(w.table, "nets4", "set"))).not.toContain("10.213.0.0");
    await expect(w.nets.removeNetwork("t")).rejects.toThrow(/network t does not exist/);
    const e = await w.nets.attach({ network: "u", containerId: "c", netnsPath: a.path });
    await w.nets.publish({ network: "u", containerAddress: e.address, ports: [{ containerPort: 80 }] });
    await w.nets.reset();
    expect(w.leftovers()).toEqual([]);
    expect(readdirSync("/sys/class/net")).not.toContain(e.hostVeth);
    expect(nftTableExists(w.table)).toBe(false);
    expect(w.nets.list()).toEqual([]);
  });
});
