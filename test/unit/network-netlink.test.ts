/**
 * Netlink message encoding, byte for byte against what iproute2 6.1 sends for the same request
 * (captured with `strace -e trace=sendmsg -e write=all ip …` in a throwaway network namespace;
 * the sequence number zeroed: the helper numbers messages as it sends them). Messages ip sends
 * by index but husk by name are written out from the kernel's struct layouts instead.
 */
import { expect, test } from "bun:test";
import {
  delLink,
  ipv4Bytes,
  macBytes,
  newAddress,
  newBridge,
  newDefaultRoute,
  newVeth,
  replaceNeighbour,
  setLink,
} from "../../src/network/netlink.ts";

/** ip's bytes as captured, with nlmsg_seq (bytes 8–11) set to 0. */
function captured(hex: string): string {
  return `${hex.slice(0, 16)}00000000${hex.slice(24)}`;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("bridge: ip link add name husk0 address 02:11:22:33:44:55 mtu 1400 up type bridge", () => {
  const ip = captured(
    "500000001000050640b7156b00000000000000000000000001000000010000000a000100021122334455000008000400780500000a0003006875736b30000000100012000a0001006272696467650000",
  );
  expect(hex(newBridge({ name: "husk0", mac: "02:11:22:33:44:55", mtu: 1400, up: true }))).toBe(ip);
});

test("veth made in the container's namespace, peer in the host's by pid", () => {
  // nsenter --net=C ip link add eth0 index 2 address 02:aa:bb:cc:dd:ee mtu 1400 up type veth
  //   peer name husk-0123abcd netns 23098 mtu 1400
  const ip = captured(
    "8800000010000506beb6156b00000000000000000200000001000000010000000a00010002aabbccddee000008000400780500000900030065746830000000004800120008000100766574683c0002003800010000000000000000000000000000000000080013003a5a00000800040078050000120003006875736b2d3031323361626364000000",
  );
  const msg = newVeth(
    { name: "eth0", index: 2, mac: "02:aa:bb:cc:dd:ee", mtu: 1400, up: true },
    { name: "husk-0123abcd", nsPid: 23098, mtu: 1400 },
  );
  expect(hex(msg)).toBe(ip);
});

test("lo up: ip link set dev lo up (by index)", () => {
  const ip = captured("2000000010000500beb6156b0000000000000000010000000100000001000000");
  expect(hex(setLink({ index: 1 }, { up: true }))).toBe(ip);
});

test("by index, ip's own: ip link set dev hv master husk0 up (hv = 4, husk0 = 2)", () => {
  const ip = captured("280000001000050040b7156b000000000000000004000000010000000100000008000a0002000000");
  expect(hex(setLink({ index: 4 }, { master: 2, up: true }))).toBe(ip);
});

test("by name: the same change names the link with IFLA_IFNAME and index 0", () => {
  const expected =
    "30000000" + // nlmsg_len 48
    "1000" + // RTM_NEWLINK
    "0500" + // NLM_F_REQUEST | NLM_F_ACK
    "00000000" + // seq
    "00000000" + // pid
    "00000000" + // ifi_family AF_UNSPEC, pad, ifi_type 0
    "00000000" + // ifi_index 0: by name
    "01000000" + // ifi_flags IFF_UP
    "01000000" + // ifi_change IFF_UP
    "07000300" + // rtattr len 7, IFLA_IFNAME
    "68760000" + // "hv\0" + 1 byte padding
    "08000a00" + // rtattr len 8, IFLA_MASTER
    "02000000"; // master index 2
  expect(hex(setLink({ name: "hv" }, { master: 2, up: true }))).toBe(expected);
});

test("ip link del dev hv: by index as ip sends it, and by name", () => {
  const ip = captured("200000001100050041b7156b0000000000000000040000000000000000000000");
  expect(hex(delLink({ index: 4 }))).toBe(ip);
  expect(hex(delLink({ name: "hv" }))).toBe(
    "28000000" +
      "1100" +
      "0500" +
      "00000000" +
      "00000000" +
      "00000000" +
      "00000000" +
      "00000000" +
      "00000000" +
      "07000300" +
      "68760000",
  );
});

test("ip addr add 10.90.0.2/16 dev eth0 (index 2), and the bridge's 10.90.0.1/16", () => {
  expect(hex(newAddress(2, "10.90.0.2", 16))).toBe(
    captured("2800000014000506bfb6156b000000000210000002000000080002000a5a0002080001000a5a0002"),
  );
  expect(hex(newAddress(2, "10.90.0.1", 16))).toBe(
    captured("2800000014000506bfb6156b000000000210000002000000080002000a5a0001080001000a5a0001"),
  );
});

test("ip route add default via 10.90.0.1 dev eth0 (index 2)", () => {
  const ip = captured("2c00000018000506bfb6156b0000000002000000fe03000100000000080005000a5a00010800040002000000");
  expect(hex(newDefaultRoute("10.90.0.1", 2))).toBe(ip);
});

test("ip route add default via 10.90.0.1 dev eth0 (index 2) mtu 1400", () => {
  const ip = captured(
    "3800000018000506affe156b0000000002000000fe03000100000000080005000a5a000108000400020000000c0008000800020078050000",
  );
  expect(hex(newDefaultRoute("10.90.0.1", 2, 1400))).toBe(ip);
});

test("ip neigh replace 10.90.0.2 lladdr 02:aa:bb:cc:dd:ee dev husk0 (index 2) nud stale", () => {
  const ip = captured("300000001c0005050901166b00000000020000000200000004000000080001000a5a00020a00020002aabbccddee0000");
  expect(hex(replaceNeighbour(2, "10.90.0.2", "02:aa:bb:cc:dd:ee"))).toBe(ip);
});

test("every message is a whole number of 4-byte units, as the helper steps through them", () => {
  for (const m of [newBridge({ name: "b" }), newVeth({ name: "e" }, { name: "abcde", nsPid: 1 }), delLink({ name: "abc" })]) {
    expect(m.length % 4).toBe(0);
    expect(new DataView(m.buffer, m.byteOffset).getUint32(0, true)).toBe(m.length);
  }
});

test("bad names and addresses are refused before anything is sent", () => {
  expect(() => newBridge({ name: "a-name-too-long-0" })).toThrow(/interface name/);
  expect(() => newBridge({ name: "" })).toThrow(/interface name/);
  expect(() => newBridge({ name: "a/b" })).toThrow(/interface name/);
  expect(() => macBytes("02:00:00:00:00")).toThrow(/MAC/);
  expect(() => ipv4Bytes("10.0.0.256")).toThrow(/IPv4/);
  for (const name of ["a b", "a:b", "a\tb", "a\0b", "\u00e9th0", ".", ".."])
    expect(() => newBridge({ name })).toThrow(/interface name/);
  for (const mac of ["02:00:00:00:00:0g", "02-00-00-00-00-01", "02:00:00:00:00:001", "02:00:00:00:0:001", ""])
    expect(() => macBytes(mac)).toThrow(/MAC/);
  for (const a of ["10.0.0", "10.0.0.1.2", "10..0.1", "10.0.0.", ".10.0.0", "10.0.0.1000", "10.0.0.x", "10.0.0.-1", ""])
    expect(() => ipv4Bytes(a)).toThrow(/IPv4/);
});

test("MACs and addresses in bytes: upper and lower case, every octet's range", () => {
  expect([...macBytes("02:42:AC:11:ff:0a")]).toEqual([0x02, 0x42, 0xac, 0x11, 0xff, 0x0a]);
  expect([...ipv4Bytes("10.255.0.1")]).toEqual([10, 255, 0, 1]);
  expect([...ipv4Bytes("0.0.0.0")]).toEqual([0, 0, 0, 0]);
  expect([...ipv4Bytes("255.255.255.255")]).toEqual([255, 255, 255, 255]);
});
