/**
 * The plan's wire format, read by native/helper.c (read_plan):
 *
 *   plan   := magic "HUSKPLAN" (8 bytes) · u32 version (=1) · u32 opCount · op*
 *   op     := u16 code · u16 fieldCount · field*
 *   field  := u8 kind · payload
 *             kind 1 (int):   i64, little endian
 *             kind 2 (bytes): u32 length · length bytes
 *
 * Codes, field order and kinds per op are wire.ts's WIRE. Kinds: i (number/bigint/boolean)
 * → int; s (string, UTF-8, no NUL) and b (string or Uint8Array) → bytes; l (string[]) →
 * bytes, each string followed by one NUL; u (number[]) → bytes of u32 little endian.
 * On the sync channel the plan is preceded by its u32 length.
 */
import type { Op, Plan } from "../plan/ops.ts";
import { type FieldKind, PLAN_MAGIC, PLAN_VERSION, WIRE, WireKind } from "./wire.ts";

class Writer {
  private buf = Buffer.alloc(4096);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, v), this.len);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => typeof n === "number");

function noNul(s: string, where: string): string {
  if (s.includes("\0")) throw new Error(`plan field ${where} contains a NUL byte`);
  return s;
}

/** One field as its kind says; a value of another type is a husk bug, caught here. */
function encodeField(w: Writer, kind: FieldKind, value: unknown, where: string): void {
  if (kind === "i") {
    if (typeof value === "number" && !Number.isInteger(value)) throw new Error(`plan field ${where} is not an integer: ${value}`);
    if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "boolean") {
      throw new Error(`plan field ${where} is not an int`);
    }
    w.u8(WireKind.Int);
    w.i64(typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value));
    return;
  }
  let bytes: Uint8Array;
  if (kind === "s" && typeof value === "string") bytes = Buffer.from(noNul(value, where), "utf8");
  else if (kind === "b" && typeof value === "string") bytes = Buffer.from(value, "utf8");
  else if (kind === "b" && value instanceof Uint8Array) bytes = value;
  else if (kind === "l" && isStrings(value)) bytes = Buffer.from(value.map((s) => `${noNul(s, where)}\0`).join(""), "utf8");
  else if (kind === "u" && isNumbers(value)) {
    const b = Buffer.alloc(value.length * 4);
    for (const [i, v] of value.entries()) b.writeUInt32LE(v, i * 4);
    bytes = b;
  } else throw new Error(`plan field ${where} does not fit its kind "${kind}"`);
  w.u8(WireKind.Bytes);
  w.bytes(bytes);
}

export function encodeOp(w: Writer, op: Op): void {
  const def = WIRE[op.op];
  const fields = Object.entries(def.fields) as [string, FieldKind][];
  w.u16(def.code);
  w.u16(fields.length);
  for (const [name, kind] of fields) encodeField(w, kind, (op as unknown as Record<string, unknown>)[name], `${op.op}.${name}`);
}

/** Encode a plan to its wire form (without the length prefix). */
export function encodePlan(plan: Plan): Buffer {
  const w = new Writer();
  for (const c of PLAN_MAGIC) w.u8(c.charCodeAt(0));
  w.u32(PLAN_VERSION);
  w.u32(plan.length);
  for (const step of plan) encodeOp(w, step.op);
  return w.result();
}
