/**
 * Addresses released without waiting for the kernel: a detach with namespaceGone (the engine's,
 * once a container's init has exited) sends nothing, and one with wait false does not wait. Until
 * the old veth is gone its address may still be answered for, so it goes to nobody else; once the
 * veth is gone it is handed out again. A veth that lingers (its namespace held by someone) is
 * deleted past the grace period, or at once when its address is asked for by name, and by
 * removeNetwork and reset.
 *
 * The namespaces here are pinned by the test, so "gone" is the test removing the pin: the kernel
 * then deletes the veth pair with the namespace, as when a container's last process exits.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { linkExists } from "../../src/network/links.ts";
import { netnsRemove } from "../../src/network/netns.ts";
import { DRAIN_GRACE_MS } from "../../src/network/networks.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { type NetWorld, netWorld, sh } from "../fixtures/network.ts";

let w: NetWorld;

async function waitGone(veth: string): Promise<void> {
  for (let i = 0; i < 500 && linkExists(veth); i++) await Bun.sleep(10);
  expect(linkExists(veth)).toBe(false);
}

describeAsRoot("network: draining addresses", () => {
  beforeEach(async () => {
    w = netWorld();
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.5.0/24" });
  });
  afterEach(async () => {
    await w.cleanup();
  });

  test("namespaceGone: nothing deleted; the address goes to nobody while the old veth answers, and is free once it is gone", async () => {
    const [a, b, c] = await Promise.all([w.netns("a"), w.netns("b"), w.netns("c")]);
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    await w.nets.detach({ network: "t", containerId: "ctr-a", namespaceGone: true });
    // The lease is gone, the veth and the address in a's namespace are not: a still answers.
    expect(w.nets.inspect("t").leases).toEqual([]);
    expect(linkExists(ea.hostVeth)).toBe(true);
    expect(w.exec(a.name, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout).toContain(`inet ${ea.address}/24`);
    expect(w.nets.inspect("t").draining).toMatchObject([{ address: ea.address, containerId: "ctr-a", hostVeth: ea.hostVeth }]);
    const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
    expect(eb.address).not.toBe(ea.address);

    // The namespace dies: the kernel deletes the pair, and the address is handed out again.
    await netnsRemove(a.name);
    await waitGone(ea.hostVeth);
    const ec = await w.nets.attach({ network: "t", containerId: "ctr-c", netnsPath: c.path });
    expect(ec.address).toBe(ea.address);
    expect(w.nets.inspect("t").draining).toEqual([]);
  });

  test("wait false: the deletion is under way, the address is held until the veth is gone", async () => {
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    await w.nets.detach({ network: "t", containerId: "ctr-a", wait: false });
    const held = w.nets.inspect("t").draining ?? [];
    // Either the kernel was quick (nothing held) or the address is held while the veth lingers.
    if (held.length > 0) expect(held[0]!.address).toBe(ea.address);
    await waitGone(ea.hostVeth);
    const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
    expect(eb.address).toBe(ea.address);
  });

  test("the same container again: a new veth by the old name is not taken for the old one", async () => {
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    const first = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    await w.nets.detach({ network: "t", containerId: "ctr-a", namespaceGone: true });
    await netnsRemove(a.name);
    await waitGone(first.hostVeth);
    const again = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: b.path });
    expect(again.hostVeth).toBe(first.hostVeth);
    // The old entry (another ifindex) is dropped, not kept alive by the new link of its name.
    expect(w.nets.inspect("t").draining).toEqual([]);
  });

  test("a lingering veth: deleted past the grace period, or at once when its address is asked for", async () => {
    const [a, b, c] = await Promise.all([w.netns("a"), w.netns("b"), w.netns("c")]);
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
    await w.nets.detach({ network: "t", containerId: "ctr-a", namespaceGone: true });
    await w.nets.detach({ network: "t", containerId: "ctr-b", namespaceGone: true });
    // ctr-a's released longer ago than the grace period (its namespace held by someone).
    await w.nets.store.locked(() => {
      const rec = w.nets.store.read("t")!;
      rec.draining![0]!.since = new Date(Date.now() - DRAIN_GRACE_MS - 1000).toISOString();
      w.nets.store.write(rec);
    });
    expect((await w.nets.reclaim("t")).length).toBe(0);
    expect(linkExists(ea.hostVeth)).toBe(false);
    expect(w.exec(a.name, ["ip", "-o", "link"]).stdout).not.toContain("eth0");
    expect(w.nets.inspect("t").draining!.map((d) => d.address)).toEqual([eb.address]);
    // ctr-b's address asked for by name: its veth is deleted and the address given.
    const ec = await w.nets.attach({ network: "t", containerId: "ctr-c", netnsPath: c.path, address: eb.address });
    expect(ec.address).toBe(eb.address);
    expect(linkExists(eb.hostVeth)).toBe(false);
    expect(w.nets.inspect("t").draining).toEqual([]);
  });

  test("removeNetwork and reset delete lingering veths", async () => {
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    await w.nets.ensureNetwork({ name: "u", bridge: w.bridge("u"), subnet: "10.213.6.0/24" });
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    const eb = await w.nets.attach({ network: "u", containerId: "ctr-b", netnsPath: b.path });
    await w.nets.detach({ network: "t", containerId: "ctr-a", namespaceGone: true });
    await w.nets.detach({ network: "u", containerId: "ctr-b", namespaceGone: true });
    await w.nets.removeNetwork("u");
    expect(linkExists(eb.hostVeth)).toBe(false);
    expect(linkExists(ea.hostVeth)).toBe(true);
    await w.nets.reset();
    expect(linkExists(ea.hostVeth)).toBe(false);
    expect(w.leftovers()).toEqual([]);
  });
});

describeAsRoot("network: an address handed out again", () => {
  beforeEach(async () => {
    w = netWorld();
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.5.0/24" });
  });
  afterEach(async () => {
    await w.cleanup();
  });

  test("the host reaches the new holder at once, not the old MAC it had learned", async () => {
    // A bridge port forwards only once the kernel's link watcher has seen its carrier (a work
    // queue, late on a loaded machine): a packet sent in the first moments is lost, so one ping
    // is tried three times, 1 s each. The old MAC would stay for far longer (a reachable
    // entry ~30 s, then 5 s of delay before probing).
    const reaches = (address: string) =>
      [1, 2, 3].some(() => sh("busybox", ["ping", "-c", "1", "-W", "1", address], { allowFail: true }).status === 0);
    const [a, b] = await Promise.all([w.netns("a"), w.netns("b")]);
    const ea = await w.nets.attach({ network: "t", containerId: "ctr-a", netnsPath: a.path });
    expect(reaches(ea.address)).toBe(true); // the host learns a's MAC
    await w.nets.detach({ network: "t", containerId: "ctr-a" });
    const eb = await w.nets.attach({ network: "t", containerId: "ctr-b", netnsPath: b.path });
    expect(eb.address).toBe(ea.address);
    expect(eb.mac).not.toBe(ea.mac);
    expect(reaches(eb.address)).toBe(true);
  });
});
