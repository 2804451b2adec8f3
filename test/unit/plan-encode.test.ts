/**
 * The plan's wire bytes (src/helper/encode.ts), checked against a reference written here with
 * Buffer's own writers: strings (ASCII, and UTF-8 beyond it) with their length, lists with a
 * NUL after each member, ints, and the framed form the sync channel carries.
 */
import { expect, test } from "bun:test";
import { encodeFramedPlan, encodePlan } from "../../src/helper/encode.ts";
import { WIRE, WireKind } from "../../src/helper/wire.ts";
import type { Plan } from "../../src/plan/ops.ts";

const u16 = (v: number) => Buffer.from([v & 0xff, v >> 8]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const i64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
};
const bytes = (b: Buffer) => Buffer.concat([Buffer.from([WireKind.Bytes]), u32(b.length), b]);
const int = (v: number) => Buffer.concat([Buffer.from([WireKind.Int]), i64(v)]);
const header = (n: number) => Buffer.concat([Buffer.from("HUSKPLAN"), u32(1), u32(n)]);

test("strings, UTF-8 strings, lists and ints encode as the helper reads them", () => {
  const plan: Plan = [
    { what: "a", op: { op: "mkdirAll", path: "/etc/ascii", mode: 0o755 } },
    { what: "b", op: { op: "sethostname", name: "höst-名前" } },
    { what: "c", op: { op: "cgroupWrite", path: "/sys/fs/cgroup/x", values: ["a 1", "ü", ""] } },
  ];
  const expected = Buffer.concat([
    header(3),
    u16(WIRE.mkdirAll.code),
    u16(2),
    bytes(Buffer.from("/etc/ascii")),
    int(0o755),
    u16(WIRE.sethostname.code),
    u16(1),
    bytes(Buffer.from("höst-名前")),
    u16(WIRE.cgroupWrite.code),
    u16(2),
    bytes(Buffer.from("/sys/fs/cgroup/x")),
    bytes(Buffer.from("a 1\0ü\0\0")),
  ]);
  expect(Buffer.from(encodePlan(plan)).equals(expected)).toBe(true);
  expect(Buffer.from(encodeFramedPlan(plan)).equals(Buffer.concat([u32(expected.length), expected]))).toBe(true);
});

test("a plan larger than the first buffer is whole, and a NUL inside a string or a list member is refused", () => {
  const long = "x".repeat(50_000);
  const plan: Plan = [{ what: "a", op: { op: "cgroupWrite", path: long, values: [long, "ok"] } }];
  const framed = Buffer.from(encodeFramedPlan(plan));
  expect(framed.readUInt32LE(0)).toBe(framed.length - 4);
  expect(framed.subarray(4).equals(Buffer.from(encodePlan(plan)))).toBe(true);
  expect(framed.length).toBe(4 + 16 + 4 + 2 * 5 + long.length + (long.length + 1 + 3));
  expect(() => encodePlan([{ what: "a", op: { op: "mkdirAll", path: "/a\0b", mode: 0 } }])).toThrow(
    "mkdirAll.path contains a NUL",
  );
  expect(() =>
    encodePlan([
      { what: "a", op: { op: "cgroupMkdirs", dirs: ["/a", "b\0"], parents: false, frozen: [], delegate: [], cpuset: "" } },
    ]),
  ).toThrow("cgroupMkdirs.dirs contains a NUL");
});
