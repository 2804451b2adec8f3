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

const utf8 = new TextEncoder();

/**
 * Plain byte stores, a DataView for the i64 and TextEncoder for strings: Buffer's writeUInt16LE
 * and friends, Buffer.from(string) and Array#every are JavaScript that Bun compiles at first
 * use, and a plan is encoded once per process, so they cost `run` ~1.5 ms (measured).
 */
class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  /** A number as two 32-bit halves (exact for safe integers): no BigInt for the common case. */
  i64(v: number | bigint): void {
    this.reserve(8);
    if (typeof v === "bigint") this.view.setBigInt64(this.len, BigInt.asIntN(64, v), true);
    else {
      const hi = Math.floor(v / 0x100000000);
      this.view.setUint32(this.len, v - hi * 0x100000000, true);
      this.view.setInt32(this.len + 4, hi, true);
    }
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** A string's UTF-8 bytes with their u32 length before them, encoded in place. */
  text(s: string): void {
    this.reserve(4 + s.length * 3);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.len + 4));
    this.view.setUint32(this.len, written, true);
    this.len += 4 + written;
  }
  result(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len);
  }
}

function isStrings(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const s of v) if (typeof s !== "string") return false;
  return true;
}

function isNumbers(v: unknown): v is number[] {
  if (!Array.isArray(v)) return false;
  for (const n of v) if (typeof n !== "number") return false;
  return true;
}

function noNul(s: string, op: string, field: string): string {
  if (s.includes("\0")) throw new Error(`plan field ${op}.${field} contains a NUL byte`);
  return s;
}

/** One field as its kind says; a value of another type is a husk bug, caught here. */
function encodeField(w: Writer, kind: FieldKind, value: unknown, op: string, field: string): void {
  const where = () => `${op}.${field}`; // only for errors: a string per field would cost each plan
  if (kind === "i") {
    if (typeof value === "number" && !Number.isInteger(value))
      throw new Error(`plan field ${where()} is not an integer: ${value}`);
    if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "boolean") {
      throw new Error(`plan field ${where()} is not an int`);
    }
    w.u8(WireKind.Int);
    // Beyond 2^53 a number goes the BigInt way, as before (two's complement, 64 bits).
    w.i64(
      typeof value === "boolean"
        ? value
          ? 1
          : 0
        : typeof value === "number" && !Number.isSafeInteger(value)
          ? BigInt(value)
          : value,
    );
    return;
  }
  if ((kind === "s" || kind === "b") && typeof value === "string") {
    w.u8(WireKind.Bytes);
    w.text(kind === "s" ? noNul(value, op, field) : value);
    return;
  }
  let bytes: Uint8Array;
  if (kind === "b" && value instanceof Uint8Array) bytes = value;
  else if (kind === "l" && isStrings(value)) {
    let joined = "";
    for (const s of value) joined += `${noNul(s, op, field)}\0`;
    w.u8(WireKind.Bytes);
    w.text(joined);
    return;
  } else if (kind === "u" && isNumbers(value)) {
    bytes = new Uint8Array(value.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < value.length; i++) view.setUint32(i * 4, value[i] as number, true);
  } else throw new Error(`plan field ${where()} does not fit its kind "${kind}"`);
  w.u8(WireKind.Bytes);
  w.bytes(bytes);
}

export function encodeOp(w: Writer, op: Op): void {
  const def = WIRE[op.op];
  const fields = def.fields as Record<string, FieldKind>;
  const names = Object.keys(fields);
  w.u16(def.code);
  w.u16(names.length);
  for (const name of names) {
    encodeField(w, fields[name] as FieldKind, (op as unknown as Record<string, unknown>)[name], op.op, name);
  }
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
