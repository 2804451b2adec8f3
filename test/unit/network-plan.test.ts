/**
 * The plan that gives a container an interface: one helper run of two netlink steps, the
 * first sent from inside the container's namespace (veth with its peer named into ours by
 * pid, lo up, address, default route), the second from ours (the host end onto the bridge).
 */
import { expect, test } from "bun:test";
import { hostVethName, interfaceIndex, interfacePlan, macFor } from "../../src/network/links.ts";
import { newAddress, newDefaultRoute, newVeth, replaceNeighbour, setLink } from "../../src/network/netlink.ts";

const spec = {
  netnsPath: "/run/netns/c1",
  ifname: "eth0",
  index: 2,
  mac: "02:aa:bb:cc:dd:ee",
  mtu: 65535,
  routeMtu: 1400,
  address: "10.90.0.2",
  prefix: 16,
  gateway: "10.90.0.1",
  defaultRoute: true,
  hostVeth: "husk-0123abcde",
  bridge: "husk0",
  bridgeIndex: 7,
};

test("interface plan: messages, namespaces, order, and a description per message", () => {
  const plan = interfacePlan(spec);
  expect(plan.map((s) => [s.op.op, (s.op as { ns: string }).ns])).toEqual([
    ["netlink", "/run/netns/c1"],
    ["netlink", ""],
  ]);
  const inside = Buffer.concat([
    newVeth(
      { name: "eth0", index: 2, mac: spec.mac, mtu: 65535, up: true },
      { name: spec.hostVeth, mtu: 65535, nsPid: process.pid },
    ),
    setLink({ index: 1 }, { up: true }),
    newAddress(2, "10.90.0.2", 16),
    newDefaultRoute("10.90.0.1", 2, 1400),
  ]);
  expect(Buffer.from((plan[0]!.op as { messages: Uint8Array }).messages).equals(inside)).toBe(true);
  expect(plan[0]!.parts).toEqual([
    "create eth0 (index 2) with its peer husk-0123abcde in the host's namespace",
    "set lo up",
    "add 10.90.0.2/16 to eth0",
    "add the default route via 10.90.0.1",
  ]);
  const host = Buffer.concat([
    setLink({ name: spec.hostVeth }, { master: 7, up: true }),
    replaceNeighbour(7, "10.90.0.2", spec.mac),
  ]);
  expect(Buffer.from((plan[1]!.op as { messages: Uint8Array }).messages).equals(host)).toBe(true);
});

test("a second interface gets no default route", () => {
  const plan = interfacePlan({ ...spec, ifname: "eth1", index: 3, defaultRoute: false });
  expect(plan[0]!.parts).toEqual([
    "create eth1 (index 3) with its peer husk-0123abcde in the host's namespace",
    "set lo up",
    "add 10.90.0.2/16 to eth1",
  ]);
});

test("names, MACs and indexes are stable and fit the kernel's limits", () => {
  expect(hostVethName("husk", "abc", "eth0")).toBe(hostVethName("husk", "abc", "eth0"));
  expect(hostVethName("husk", "abc", "eth0")).not.toBe(hostVethName("husk", "abc", "eth1"));
  expect(hostVethName("husk", "abc", "eth0")).toMatch(/^husk-[0-9a-f]{9}$/); // 14 of IFNAMSIZ's 15
  const mac = macFor("abc\0eth0");
  expect(mac).toBe(macFor("abc\0eth0"));
  expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  expect(Number.parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02); // locally administered, unicast
  expect([interfaceIndex("eth0"), interfaceIndex("eth1"), interfaceIndex("eth12")]).toEqual([2, 3, 14]);
  expect(interfaceIndex("net0")).toBeGreaterThanOrEqual(1000);
});
