/** Subnet arithmetic, validation of user subnets and gateways, the host's routes and the subnet picked for a new network. */
import { expect, test } from "bun:test";
import {
  broadcast,
  candidateSubnets,
  contains,
  defaultRouteIface,
  formatIPv4,
  gatewayFor,
  hostRange,
  overlaps,
  parseIPv4,
  parseRoutes,
  parseSubnet,
  pickSubnet,
  subnetText,
} from "../../src/network/subnet.ts";

const s = (text: string) => parseSubnet(text);

test("IPv4 addresses parse and print", () => {
  expect(parseIPv4("10.88.0.1")).toBe(0x0a580001);
  expect(parseIPv4("255.255.255.255")).toBe(0xffffffff);
  expect(formatIPv4(0xc0a80101)).toBe("192.168.1.1");
  for (const bad of ["10.88.0", "10.88.0.256", "10.88.0.01", "a.b.c.d", "1.2.3.4.5", "", " 1.2.3.4"]) {
    expect(parseIPv4(bad)).toBeUndefined();
  }
});

test("subnets: network, broadcast, host range, containment, overlap", () => {
  const n = s("10.90.0.0/16");
  expect(subnetText(n)).toBe("10.90.0.0/16");
  expect(formatIPv4(broadcast(n))).toBe("10.90.255.255");
  const { first, last } = hostRange(n);
  expect([formatIPv4(first), formatIPv4(last)]).toEqual(["10.90.0.1", "10.90.255.254"]);
  expect(contains(n, parseIPv4("10.90.3.4")!)).toBe(true);
  expect(contains(n, parseIPv4("10.91.0.1")!)).toBe(false);
  expect(overlaps(n, s("10.90.128.0/24"))).toBe(true);
  expect(overlaps(s("10.0.0.0/8"), n)).toBe(true);
  expect(overlaps(n, s("10.91.0.0/16"))).toBe(false);
  expect(formatIPv4(broadcast(s("192.168.7.252/30")))).toBe("192.168.7.255");
});

test("malformed subnets are refused with the reason", () => {
  expect(() => s("10.90.0.0")).toThrow(/expected an IPv4 address and a prefix length/);
  expect(() => s("fd00::/64")).toThrow(/IPv6 networks are not supported/);
  expect(() => s("10.90.0.300/16")).toThrow(/not an IPv4 address/);
  expect(() => s("10.90.0.0/33")).toThrow(/at most 32/);
  expect(() => s("10.90.0.0/31")).toThrow(/between 8 and 30/);
  expect(() => s("10.0.0.0/7")).toThrow(/between 8 and 30/);
  expect(() => s("10.90.1.0/16")).toThrow(/host bits are set; the subnet is 10.90.0.0\/16/);
});

test("gateway: the first address by default; outside the subnet, network or broadcast refused", () => {
  const n = s("10.90.0.0/16");
  expect(formatIPv4(gatewayFor(n))).toBe("10.90.0.1");
  expect(formatIPv4(gatewayFor(n, "10.90.255.254"))).toBe("10.90.255.254");
  expect(() => gatewayFor(n, "10.91.0.1")).toThrow(/gateway 10.91.0.1 is outside the subnet 10.90.0.0\/16/);
  expect(() => gatewayFor(n, "10.90.0.0")).toThrow(/network or broadcast/);
  expect(() => gatewayFor(n, "10.90.255.255")).toThrow(/network or broadcast/);
  expect(() => gatewayFor(n, "gw")).toThrow(/not an IPv4 address/);
});

// /proc/net/route of a host with docker0 up and a LAN on eth0 (little-endian hex, as the kernel prints it).
const ROUTES = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
eth0	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
cni0	0000580A	00000000	0001	0	0	0	0000FFFF	0	0	0
wg0	00005A0A	00000000	0001	0	0	0	00FFFFFF	0	0	0
`;

test("the host's routes, default route left out", () => {
  const routes = parseRoutes(ROUTES).map((r) => `${r.iface} ${subnetText(r.dest)}`);
  expect(routes).toEqual(["eth0 192.168.1.0/24", "docker0 172.17.0.0/16", "cni0 10.88.0.0/16", "wg0 10.90.0.0/24"]);
  expect(defaultRouteIface(ROUTES)).toBe("eth0");
  expect(
    defaultRouteIface(
      ROUTES.split("\n")
        .filter((l) => !l.includes("0101A8C0"))
        .join("\n"),
    ),
  ).toBeUndefined();
});

test("a new network's subnet avoids every route and network: docker's, podman's, a VPN's", () => {
  const taken = parseRoutes(ROUTES).map((r) => r.dest);
  expect(subnetText(pickSubnet(taken))).toBe("10.91.0.0/16"); // 10.90.0.0/24 of wg0 rules out 10.90/16
  expect(subnetText(pickSubnet([]))).toBe("10.90.0.0/16");
  expect(subnetText(pickSubnet([s("10.0.0.0/8")]))).toBe("172.18.0.0/16");
  expect(() => pickSubnet([s("10.0.0.0/8"), s("172.16.0.0/12")])).toThrow(/no free subnet/);
  expect(candidateSubnets().some((c) => overlaps(c, s("172.17.0.0/16")) || overlaps(c, s("10.88.0.0/16")))).toBe(false);
});
