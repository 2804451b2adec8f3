/**
 * NETLINK_ROUTE messages, built here and sent by the helper's `netlink` op (native/net.c),
 * which frames nothing and parses nothing but the kernel's answer. Layouts are the kernel's
 * (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h), host byte order
 * (little endian on the machines husk runs on), each attribute padded to 4 bytes:
 *
 *   nlmsghdr  u32 len · u16 type · u16 flags · u32 seq · u32 pid        (16 bytes)
 *   ifinfomsg u8 family · u8 pad · u16 type · i32 index · u32 flags · u32 change   (16)
 *   ifaddrmsg u8 family · u8 prefixlen · u8 flags · u8 scope · u32 index           (8)
 *   rtmsg     u8 family, dst_len, src_len, tos, table, protocol, scope, type · u32 flags (12)
 *   ndmsg     u8 family · u8 pad · u16 pad · i32 index · u16 state · u8 flags · u8 type    (12)
 *   rtattr    u16 len · u16 type · payload · padding
 *
 * seq and pid are left 0: the helper numbers the messages it sends. Attributes come in the
 * order iproute2 6.1 sends them for the same request, so the tests compare with its bytes.
 *
 * Links are named by index where the kernel needs one (an address, a route: ifaddrmsg and
 * RTA_OIF take only an index) and by name elsewhere. Husk picks the index of the interface it
 * makes in a container's namespace, so no answer has to be read back.
 */

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_NEWNEIGH = 28;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_PID = 19;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;

const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_STALE = 0x04;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;

const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_METRICS = 8;
const RTAX_MTU = 2;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** The loopback interface is index 1 in every network namespace. */
export const LOOPBACK_INDEX = 1;
/** IFNAMSIZ less the NUL. */
export const IFNAME_MAX = 15;

const pad4 = (n: number) => (n + 3) & ~3;

/*
 * Plain Uint8Arrays and DataViews, not the Node byte writers: those are JavaScript Bun compiles
 * at first use, a millisecond of a container's attach (as in helper/encode.ts).
 */

/** The parts one after another. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function attr(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(pad4(4 + payload.length));
  const v = view(out);
  v.setUint16(0, 4 + payload.length, true);
  v.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

const u32 = (value: number) => {
  const b = new Uint8Array(4);
  view(b).setUint32(0, value >>> 0, true);
  return b;
};
/** Latin-1 (names are checked to be ASCII), NUL-terminated when asked. */
const latin1 = (s: string, nul: boolean) => {
  const b = new Uint8Array(s.length + (nul ? 1 : 0));
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
};
const str = (s: string) => latin1(s, true);
const nest = (type: number, ...children: Uint8Array[]) => attr(type, concat(children));

function message(type: number, flags: number, body: Uint8Array[]): Uint8Array {
  const out = concat([new Uint8Array(16), ...body]);
  const v = view(out);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags | NLM_F_REQUEST | NLM_F_ACK, true);
  return out;
}

function ifinfomsg(index: number, up: boolean | undefined): Uint8Array {
  const b = new Uint8Array(16);
  const v = view(b);
  b[0] = AF_UNSPEC;
  v.setInt32(4, index, true);
  v.setUint32(8, up ? IFF_UP : 0, true);
  v.setUint32(12, up === undefined ? 0 : IFF_UP, true);
  return b;
}

/*
 * The parsers below read characters in loops, not with regular expressions, Uint8Array.from or
 * Array.prototype.map: those are compiled at their first use in a process (a regular
 * expression per pattern, the builtins from their JavaScript source), ~1 ms of a CLI's attach
 * that nothing else on its path pays.
 */

/** The value of hex digit c (a char code), or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** "02:42:ac:11:00:02" → its 6 bytes. */
export function macBytes(mac: string): Uint8Array {
  const out = new Uint8Array(6);
  let ok = mac.length === 17;
  for (let i = 0; ok && i < 6; i++) {
    const hi = hexDigit(mac.charCodeAt(3 * i));
    const lo = hexDigit(mac.charCodeAt(3 * i + 1));
    ok = hi >= 0 && lo >= 0 && (i === 5 || mac.charCodeAt(3 * i + 2) === 58); // ':'
    out[i] = hi * 16 + lo;
  }
  if (!ok) throw new Error(`not a MAC address: ${mac}`);
  return out;
}

/** "10.88.0.1" → its 4 bytes, network order. */
export function ipv4Bytes(address: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  let ok = true;
  for (let i = 0; ok && i <= address.length; i++) {
    const c = i < address.length ? address.charCodeAt(i) : 46; // the last part ends as if by a '.'
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      ok = ++digits <= 3 && value <= 255;
    } else {
      ok = c === 46 && digits > 0 && part < 4;
      out[part++] = value;
      value = 0;
      digits = 0;
    }
  }
  if (!ok || part !== 4) throw new Error(`not an IPv4 address: ${address}`);
  return out;
}

function ifname(name: string): Uint8Array {
  let ok = name.length > 0 && name.length <= IFNAME_MAX && name !== "." && name !== "..";
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    // Printable ASCII but '/' and ':' (the kernel's dev_valid_name refuses those, white space and NUL).
    ok = c > 32 && c < 127 && c !== 47 && c !== 58;
  }
  if (!ok) throw new Error(`not an interface name: ${JSON.stringify(name)}`);
  return attr(IFLA_IFNAME, str(name));
}

export interface NewLink {
  name: string;
  /** The index to give it (0: the kernel picks). */
  index?: number;
  mac?: string;
  mtu?: number;
  up?: boolean;
}

/** Attributes every new link may carry, in iproute2's order. */
function linkAttrs(l: NewLink & { nsPid?: number }): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (l.mac) out.push(attr(IFLA_ADDRESS, macBytes(l.mac)));
  if (l.nsPid) out.push(attr(IFLA_NET_NS_PID, u32(l.nsPid)));
  if (l.mtu) out.push(attr(IFLA_MTU, u32(l.mtu)));
  out.push(ifname(l.name));
  return out;
}

/** `ip link add name NAME address MAC mtu MTU up type bridge`. */
export function newBridge(l: NewLink): Uint8Array {
  return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, [
    ifinfomsg(l.index ?? 0, l.up),
    ...linkAttrs(l),
    nest(IFLA_LINKINFO, attr(IFLA_INFO_KIND, latin1("bridge", false))),
  ]);
}

/**
 * A veth pair made from inside a namespace: `link` there, its peer in the namespace of the
 * process `peer.nsPid` (IFLA_NET_NS_PID). `ip link add NAME index I address MAC mtu MTU up type
 * veth peer name PEER netns PID mtu MTU`. The kernel honours a peer's index only when the first
 * end has one too, which is why the end whose index husk chooses is the first.
 */
export function newVeth(link: NewLink, peer: NewLink & { nsPid: number }): Uint8Array {
  return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, [
    ifinfomsg(link.index ?? 0, link.up),
    ...linkAttrs(link),
    nest(
      IFLA_LINKINFO,
      attr(IFLA_INFO_KIND, latin1("veth", false)),
      nest(IFLA_INFO_DATA, nest(VETH_INFO_PEER, ifinfomsg(peer.index ?? 0, peer.up), ...linkAttrs(peer))),
    ),
  ]);
}

/** Which link a change is for: its index, or its name. */
export type LinkRef = { index: number } | { name: string };

function refAttrs(ref: LinkRef): { index: number; attrs: Uint8Array[] } {
  return "index" in ref ? { index: ref.index, attrs: [] } : { index: 0, attrs: [ifname(ref.name)] };
}

/** `ip link set dev REF [master INDEX] [up]`. */
export function setLink(ref: LinkRef, change: { master?: number; up?: boolean }): Uint8Array {
  const { index, attrs } = refAttrs(ref);
  const more = change.master !== undefined ? [attr(IFLA_MASTER, u32(change.master))] : [];
  return message(RTM_NEWLINK, 0, [ifinfomsg(index, change.up), ...attrs, ...more]);
}

/** `ip link del dev REF` (a veth takes its peer with it). */
export function delLink(ref: LinkRef): Uint8Array {
  const { index, attrs } = refAttrs(ref);
  return message(RTM_DELLINK, 0, [ifinfomsg(index, undefined), ...attrs]);
}

/** `ip addr add ADDRESS/PREFIX dev INDEX`. */
export function newAddress(index: number, address: string, prefix: number): Uint8Array {
  const msg = new Uint8Array(8);
  msg[0] = AF_INET;
  msg[1] = prefix;
  view(msg).setUint32(4, index, true);
  const a = ipv4Bytes(address);
  return message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, [msg, attr(IFA_LOCAL, a), attr(IFA_ADDRESS, a)]);
}

/**
 * `ip route add default via GATEWAY dev INDEX [mtu MTU]`. The route's MTU (a metric) caps what
 * goes by it below the link's: TCP's MSS and IP fragmentation follow the route's.
 */
export function newDefaultRoute(gateway: string, index: number, mtu?: number): Uint8Array {
  const msg = new Uint8Array([AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0]);
  const metrics = mtu !== undefined ? [nest(RTA_METRICS, attr(RTAX_MTU, u32(mtu)))] : [];
  return message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, [
    msg,
    attr(RTA_GATEWAY, ipv4Bytes(gateway)),
    attr(RTA_OIF, u32(index)),
    ...metrics,
  ]);
}

/**
 * `ip neigh replace ADDRESS lladdr MAC dev INDEX nud stale`: the host's entry for an address
 * given to a new interface points at its MAC at once (not the last holder's, which the host may
 * have learned and would keep using until the entry expires); stale, so the kernel confirms it.
 */
export function replaceNeighbour(index: number, address: string, mac: string): Uint8Array {
  const msg = new Uint8Array(12);
  msg[0] = AF_INET;
  view(msg).setInt32(4, index, true);
  view(msg).setUint16(8, NUD_STALE, true);
  return message(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, [
    msg,
    attr(NDA_DST, ipv4Bytes(address)),
    attr(NDA_LLADDR, macBytes(mac)),
  ]);
}
