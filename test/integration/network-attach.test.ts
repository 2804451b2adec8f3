/**
 * Attachments in bulk and attachments whose owner died: 50 containers attached at once get 50
 * distinct addresses, veths and MACs and are all released; an owner killed after (or while)
 * attaching leaves a lease that is reclaimed with its veth and published port.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "../../src/helper/driver.ts";
import { hostVethName, linkExists, netlinkStep } from "../../src/network/links.ts";
import { LOOPBACK_INDEX, setLink } from "../../src/network/netlink.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { type NetWorld, netWorld, nftElements } from "../fixtures/network.ts";

/** nft and husk helper processes whose parent is gone (reparented to init): a killed owner's. */
function orphanedWorkers(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      // A netlink-only helper runs as itself (husk-helper --netlink), the others from a sealed memfd.
      if (ppid === 1 && (comm === "nft" || comm === "husk-helper" || comm.startsWith("memfd:husk"))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The husk-helper processes this process started (and has not reaped). */
function ownHelpers(): string[] {
  return readdirSync("/proc").filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return stat.includes("(husk-helper)") && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
    } catch {
      return false;
    }
  });
}

let w: NetWorld;
const CHILD = join(import.meta.dir, "../fixtures/network-attach-child.ts");

function startOwner(containerId: string, netnsPath: string) {
  return Bun.spawn([process.execPath, CHILD, w.dataRoot, w.table, "t", containerId, netnsPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

describeAsRoot("network: attach", () => {
  beforeEach(async () => {
    w = netWorld();
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.4.0/24" });
  });
  afterEach(async () => {
    await w.cleanup();
  });

  test("50 attaches at once: distinct addresses, veths and MACs, all on the bridge; 50 detaches release them all", async () => {
    const spaces = await Promise.all(Array.from({ length: 50 }, (_, i) => w.netns(`p${i}`)));
    const attached = await Promise.all(
      spaces.map((s, i) => w.nets.attach({ network: "t", containerId: `c${i}`, netnsPath: s.path })),
    );
    for (const key of ["address", "hostVeth", "mac"] as const) expect(new Set(attached.map((a) => a[key])).size).toBe(50);
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`).sort()).toEqual(attached.map((a) => a.hostVeth).sort());
    expect(w.nets.inspect("t").leases.length).toBe(50);
    // Each namespace has its own address on eth0, and the last reaches the first.
    const addr = w.exec(spaces[49]!.name, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout;
    expect(addr).toContain(`inet ${attached[49]!.address}/24`);
    expect(w.exec(spaces[49]!.name, ["busybox", "ping", "-c", "1", "-W", "3", attached[0]!.address]).status).toBe(0);

    await Promise.all(attached.map((a) => w.nets.detach({ network: "t", containerId: a.containerId })));
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`)).toEqual([]);
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(w.leftovers()).toEqual([w.bridge()]);
  });

  test("an owner killed after attaching: reclaim removes its veth, published port and lease", async () => {
    const s = await w.netns("k");
    const owner = startOwner("killed", s.path);
    const reader = owner.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("attached");
    const [lease] = w.nets.inspect("t").leases;
    expect(lease?.owner?.pid).toBe(owner.pid);
    expect(readdirSync("/sys/class/net")).toContain(lease!.hostVeth);
    expect(nftElements(w.table, "ports4").length).toBe(1);
    // Alive: nothing to reclaim.
    expect(await w.nets.reclaim("t")).toEqual([]);
    owner.kill("SIGKILL");
    await owner.exited;
    expect((await w.nets.reclaim("t")).map((l) => l.containerId)).toEqual(["killed"]);
    expect(readdirSync("/sys/class/net")).not.toContain(lease!.hostVeth);
    expect(nftElements(w.table, "ports4")).toEqual([]);
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(w.exec(s.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
  });

  test("owners killed at any point of attach: the next attach reclaims their leases; nothing of theirs is left", async () => {
    const spaces = await Promise.all(Array.from({ length: 6 }, (_, i) => w.netns(`r${i}`)));
    const owners = spaces.map((s, i) => startOwner(`victim${i}`, s.path));
    // Kill them at staggered moments: before, during and after their attach.
    await Promise.all(
      owners.map(async (o, i) => {
        await Bun.sleep(i * 60);
        o.kill("SIGKILL");
        await o.exited;
      }),
    );
    // A helper or an `nft` started by a killed owner finishes its few milliseconds of work on
    // its own (an nft that got its whole script commits it): wait for them, on a loaded machine
    // too, before the next attach reclaims.
    await Bun.sleep(500);
    for (let i = 0; i < 100 && orphanedWorkers().length > 0; i++) await Bun.sleep(50);
    const survivor = await w.netns("s");
    const e = await w.nets.attach({ network: "t", containerId: "survivor", netnsPath: survivor.path });
    expect(w.nets.inspect("t").leases.map((l) => l.containerId)).toEqual(["survivor"]);
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`)).toEqual([e.hostVeth]);
    expect(w.leftovers().sort()).toEqual([w.bridge(), e.hostVeth].sort());
    expect(nftElements(w.table, "ports4")).toEqual([]);
    for (const s of spaces) expect(w.exec(s.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
    const links = readdirSync("/sys/class/net");
    for (let i = 0; i < owners.length; i++) expect(links).not.toContain(hostVethName("t", `victim${i}`, "eth0"));
  });

  test("detach without waiting: it returns once the veth is unlisted (both ends gone, the address free), before the kernel has freed it; the same interface again at once", async () => {
    const s = await w.netns("nw");
    const first = await w.nets.attach({ network: "t", containerId: "c", netnsPath: s.path });
    await w.nets.detach({ network: "t", containerId: "c", wait: false });
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(linkExists(first.hostVeth)).toBe(false);
    expect(w.exec(s.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
    expect(w.nets.inspect("t").draining ?? []).toEqual([]);
    // Same container, same interface, same namespace, same address: nothing in the way.
    const again = await w.nets.attach({ network: "t", containerId: "c", netnsPath: s.path });
    expect(again.hostVeth).toBe(first.hostVeth);
    expect(again.address).toBe(first.address);
    expect(w.exec(s.name, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout).toContain(`inet ${again.address}/24`);
    await w.nets.detach({ network: "t", containerId: "c", wait: false });
    expect(linkExists(first.hostVeth)).toBe(false);
    expect(w.exec(s.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
    // The helper that sat through the unregistration is gone too.
    for (let i = 0; i < 100 && orphanedWorkers().length > 0; i++) await Bun.sleep(20);
    expect(w.leftovers()).toEqual([w.bridge()]);
  });

  test("a prepared attach: the helper started before the namespace exists does the attach; one cancelled exits", async () => {
    const helpers = ownHelpers;
    const before = new Set(helpers());
    const early = w.nets.prepareAttach();
    const unused = w.nets.prepareAttach();
    for (let i = 0; i < 200 && helpers().filter((p) => !before.has(p)).length < 2; i++) await Bun.sleep(5);
    const started = helpers().filter((p) => !before.has(p));
    expect(started.length).toBe(2);
    const s = await w.netns("early");
    const att = await early.attach({ network: "t", containerId: "c", netnsPath: s.path });
    expect(w.exec(s.name, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout).toContain(`inet ${att.address}/24`);
    early.cancel(); // used: nothing to do
    unused.cancel();
    const left = () => helpers().filter((p) => started.includes(p));
    for (let i = 0; i < 200 && left().length > 0; i++) await Bun.sleep(10);
    expect(left()).toEqual([]);
  });

  test("a prepared attach's reserve: the lease (its owner given) is taken before the namespace exists, the attach uses it", async () => {
    const owner = { pid: process.pid, startTime: 1 };
    const early = w.nets.prepareAttach();
    early.reserve({ network: "t", containerId: "r", owner });
    for (let i = 0; i < 200 && w.nets.inspect("t").leases.length === 0; i++) await Bun.sleep(5);
    const [lease] = w.nets.inspect("t").leases;
    expect(lease?.owner).toEqual(owner);
    const s = await w.netns("reserved");
    let planned: string | undefined;
    const att = await early.attach({ network: "t", containerId: "r", netnsPath: s.path }, (a) => {
      // Told before the veth is there (the helper is making it): the address is the lease's.
      planned = a.address;
    });
    expect(planned).toBe(lease!.address);
    expect(att.address).toBe(lease!.address);
    expect(w.nets.inspect("t").leases).toEqual([lease!]);
    expect(w.exec(s.name, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout).toContain(`inet ${att.address}/24`);
    expect(w.exec(s.name, ["ip", "route", "show", "default"]).stdout).toContain("via 10.213.4.1");
    await w.nets.detach({ network: "t", containerId: "r" });
  });

  test("a prepared attach reserved and never used: cancel gives the lease back and its helper exits", async () => {
    const before = new Set(ownHelpers());
    const early = w.nets.prepareAttach();
    early.reserve({ network: "t", containerId: "gone" });
    const fresh = () => ownHelpers().filter((p) => !before.has(p));
    for (let i = 0; i < 200 && fresh().length === 0; i++) await Bun.sleep(5);
    const started = fresh();
    expect(started.length).toBe(1);
    await early.cancel();
    expect(w.nets.inspect("t").leases).toEqual([]);
    const left = () => ownHelpers().filter((p) => started.includes(p));
    for (let i = 0; i < 200 && left().length > 0; i++) await Bun.sleep(10);
    expect(left()).toEqual([]);
  });

  test("onPlanned throws: the attach fails with its error once the veth is made, and takes back veth and lease", async () => {
    const s = await w.netns("noted");
    await expect(
      w.nets.attach({ network: "t", containerId: "n", netnsPath: s.path }, () => {
        throw new Error("bookkeeping failed");
      }),
    ).rejects.toThrow("bookkeeping failed");
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`)).toEqual([]);
    expect(linkExists(hostVethName("t", "n", "eth0"))).toBe(false);
    expect(w.exec(s.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
  });

  test("an attach refused while its helper is already started (the lease is taken): that error, and nothing made", async () => {
    const s = await w.netns("twice");
    const first = await w.nets.attach({ network: "t", containerId: "c", netnsPath: s.path });
    // The helper starts before the lease is taken; the lease fails, so the helper gets no plan.
    await expect(w.nets.attach({ network: "t", containerId: "c", netnsPath: s.path })).rejects.toThrow(
      "container c is already attached to network t as eth0",
    );
    expect(w.nets.inspect("t").leases.map((l) => l.address)).toEqual([first.address]);
    expect(readdirSync(`/sys/class/net/${w.bridge()}/brif`)).toEqual([first.hostVeth]);
    for (let i = 0; i < 50 && orphanedWorkers().length > 0; i++) await Bun.sleep(20);
    await w.nets.detach({ network: "t", containerId: "c" });
  });

  test("a --netlink helper (no sealed re-exec) refuses a plan with any other op", async () => {
    const s = await w.netns("nl");
    const lo = netlinkStep("set lo up", s.path, [{ what: "set lo up", bytes: setLink({ index: LOOPBACK_INDEX }, { up: true }) }]);
    const ok = await launch([lo], { preserveFds: 0, netlinkOnly: true });
    expect(await ok.exited).toBe(0);
    const mixed = launch([lo, { what: "hostname", op: { op: "sethostname", name: "x" } }], {
      preserveFds: 0,
      netlinkOnly: true,
      stdio: ["ignore", "ignore", "ignore"],
    });
    await expect(mixed).rejects.toThrow(/exited with status 2/);
  });
});
