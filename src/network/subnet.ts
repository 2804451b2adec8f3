/**
 * IPv4 subnet arithmetic and the host's routes: what a network's subnet may be, and which
 * subnets are already used on this machine. Pure functions over text (the route table is
 * read by the caller), so all of it is tested without root.
 */
import { HuskError } from "../errors.ts";

/** An IPv4 subnet: the network address as an unsigned 32-bit number and the prefix length. */
export interface Subnet {
  network: number;
  prefix: number;
}

/** "10.88.0.1" → 0x0a580001; undefined unless four decimal octets. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function subnetText(s: Subnet): string {
  return `${formatIPv4(s.network)}/${s.prefix}`;
}

/** The largest prefix a network may have: a gateway and at least one container. */
export const MAX_PREFIX = 30;

/** "10.88.0.0/16" → a Subnet, or a HuskError that says what is wrong with it. */
export function parseSubnet(text: string): Subnet {
  const bad = (why: string) => new HuskError(`invalid subnet ${JSON.stringify(text)}: ${why}`);
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (text.includes(":")) throw bad("IPv6 networks are not supported");
  if (!m) throw bad("expected an IPv4 address and a prefix length, as 10.88.0.0/16");
  const address = parseIPv4(m[1]!);
  if (address === undefined) throw bad(`${JSON.stringify(m[1])} is not an IPv4 address`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw bad("the prefix length is at most 32");
  if (prefix < 8 || prefix > MAX_PREFIX) throw bad(`the prefix length must be between 8 and ${MAX_PREFIX}`);
  const network = (address & mask(prefix)) >>> 0;
  if (network !== address) throw bad(`host bits are set; the subnet is ${subnetText({ network, prefix })}`);
  return { network, prefix };
}

export function contains(s: Subnet, address: number): boolean {
  return (address & mask(s.prefix)) >>> 0 === s.network;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.network & mask(p)) >>> 0 === (b.network & mask(p)) >>> 0;
}

export function broadcast(s: Subnet): number {
  return (s.network | ~mask(s.prefix)) >>> 0;
}

/** The addresses containers may have: all but the network and broadcast addresses (and the gateway). */
export function hostRange(s: Subnet): { first: number; last: number } {
  return { first: s.network + 1, last: broadcast(s) - 1 };
}

/** The gateway of a network: given (checked to be a host of the subnet) or its first host address. */
export function gatewayFor(s: Subnet, given?: string): number {
  if (given === undefined) return s.network + 1;
  const g = parseIPv4(given);
  if (g === undefined) throw new HuskError(`invalid gateway ${JSON.stringify(given)}: not an IPv4 address`);
  const { first, last } = hostRange(s);
  if (!contains(s, g)) throw new HuskError(`gateway ${given} is outside the subnet ${subnetText(s)}`);
  if (g < first || g > last) throw new HuskError(`gateway ${given} is the network or broadcast address of ${subnetText(s)}`);
  return g;
}

/** One IPv4 route of the host: the interface and the destination it covers. */
export interface HostRoute {
  iface: string;
  dest: Subnet;
}

/** A u32 as /proc/net/route prints it: the kernel's __be32 read in host (little endian) order. */
function routeHex(hex: string): number {
  const n = Number.parseInt(hex, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | (n >>> 24)) >>> 0;
}

/** The routes in /proc/net/route's text (all tables' main view), default routes left out. */
export function parseRoutes(text: string): HostRoute[] {
  const routes: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const network = routeHex(f[1]!);
    const m = routeHex(f[7]!);
    const prefix = Math.clz32(~m); // the leading ones of a contiguous mask
    if (prefix === 0) continue;
    routes.push({ iface: f[0]!, dest: { network: (network & mask(prefix)) >>> 0, prefix } });
  }
  return routes;
}

/**
 * Subnets husk tries, in order, for a network given none: 10.90–10.127, then 172.18–172.31
 * (/16 each). Docker takes 172.17 and podman 10.88 (and 10.89.x for its user networks) by
 * default; a machine's own LAN is most often in 192.168.
 */
export function candidateSubnets(): Subnet[] {
  const out: Subnet[] = [];
  for (let b = 90; b <= 127; b++) out.push({ network: (10 << 24) | (b << 16), prefix: 16 });
  for (let b = 18; b <= 31; b++) out.push({ network: ((172 << 24) | (b << 16)) >>> 0, prefix: 16 });
  return out;
}

/** The first candidate that overlaps none of `taken`. */
export function pickSubnet(taken: Subnet[]): Subnet {
  const free = candidateSubnets().find((c) => !taken.some((t) => overlaps(c, t)));
  if (!free) throw new HuskError("no free subnet left for a new network: give one with a subnet");
  return free;
}

/** The interface of the host's IPv4 default route in /proc/net/route's text, if there is one. */
export function defaultRouteIface(text: string): string | undefined {
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && Number.parseInt(f[1]!, 16) === 0 && Number.parseInt(f[7]!, 16) === 0) return f[0];
  }
  return undefined;
}
