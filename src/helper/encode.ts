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
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

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
  /** A u32 written later (setU32At): where it is. */
  u32Later(): number {
    this.reserve(4);
    this.len += 4;
    return this.len - 4;
  }
  setU32At(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  get length(): number {
    return this.len;
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
  /**
   * A string's UTF-8 bytes, then `end` (a NUL for a list's member) unless it is -1. A plan's
   * strings are nearly all ASCII (paths, options): those are stored byte by byte, without
   * TextEncoder's view of the buffer per string (a third of a plan's encoding time).
   */
  chars(s: string, end = -1): void {
    this.reserve(s.length * 3 + 1);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        at = this.len + utf8.encodeInto(s, buf.subarray(this.len)).written;
        break;
      }
      buf[at++] = c;
    }
    if (end >= 0) buf[at++] = end;
    this.len = at;
  }
  /** A string's UTF-8 bytes with their u32 length before them. */
  text(s: string): void {
    const at = this.u32Later();
    this.chars(s);
    this.setU32At(at, this.len - at - 4);
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
  if (kind === "i") {
    if (typeof value === "number" && !Number.isInteger(value))
      throw new Error(`plan field ${op}.${field} is not an integer: ${value}`);
    if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "boolean") {
      throw new Error(`plan field ${op}.${field} is not an int`);
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
    w.u8(WireKind.Bytes);
    const at = w.u32Later();
    for (const s of value) w.chars(noNul(s, op, field), 0);
    w.setU32At(at, w.length - at - 4);
    return;
  } else if (kind === "u" && isNumbers(value)) {
    bytes = new Uint8Array(value.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < value.length; i++) view.setUint32(i * 4, value[i] as number, true);
  } else throw new Error(`plan field ${op}.${field} does not fit its kind "${kind}"`);
  w.u8(WireKind.Bytes);
  w.bytes(bytes);
}

/** Each op's field names and kinds in wire order, as WIRE has them (derived from that constant once). */
const FIELDS = new Map(
  Object.entries(WIRE).map(([op, def]) => [op, Object.entries(def.fields as Record<string, FieldKind>)] as const),
);

export function encodeOp(w: Writer, op: Op): void {
  const fields = FIELDS.get(op.op) as [string, FieldKind][];
  w.u16(WIRE[op.op].code);
  w.u16(fields.length);
  for (const [name, kind] of fields) encodeField(w, kind, (op as unknown as Record<string, unknown>)[name], op.op, name);
}

function encodeInto(w: Writer, plan: Plan): void {
  for (const c of PLAN_MAGIC) w.u8(c.charCodeAt(0));
  w.u32(PLAN_VERSION);
  w.u32(plan.length);
  for (const step of plan) encodeOp(w, step.op);
}

/** Encode a plan to its wire form (without the length prefix). */
export function encodePlan(plan: Plan): Buffer {
  const w = new Writer(4096);
  encodeInto(w, plan);
  return w.result();
}

/**
 * A plan as the sync channel carries it: its u32 length, then the plan, in one buffer (an
 * engine container's is ~16 KB: room for it from the start, and no copy to put the length first).
 */
export function encodeFramedPlan(plan: Plan): Buffer {
  const w = new Writer(32 * 1024);
  const at = w.u32Later();
  encodeInto(w, plan);
  w.setU32At(at, w.length - 4);
  return w.result();
}
