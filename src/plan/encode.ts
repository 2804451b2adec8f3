/**
 * The plan's wire format, read by native/helper.c (keep the two in step):
 *
 *   plan   := magic "HUSKPLAN" (8 bytes) · u32 version (=1) · u32 opCount · op*
 *   op     := u16 code · u16 fieldCount · field*
 *   field  := u8 kind · payload
 *             kind 1 (int):   i64, little endian
 *             kind 2 (bytes): u32 length · length bytes
 *
 * Field order per op is FIELDS below. Value encodings: number/bigint/boolean → int;
 * string → bytes (UTF-8, no NUL); string[] → bytes, each string followed by one NUL;
 * number[] → bytes of u32 little endian; Uint8Array → bytes as is.
 * On the sync channel the plan is preceded by its u32 length.
 */
import { OP_CODES, type Op, type Plan } from "./ops.ts";

export const PLAN_MAGIC = "HUSKPLAN";
export const PLAN_VERSION = 1;

type FieldsOf<O> = O extends { op: infer _ } ? Exclude<keyof O, "op">[] : never;
type FieldTable = { [K in Op["op"]]: FieldsOf<Extract<Op, { op: K }>> };

export const FIELDS: FieldTable = {
  setns: ["path", "nstype"],
  unshare: ["flags"],
  clone: ["flags", "mode"],
  waitContinue: [],
  writeFile: ["path", "where", "data"],
  sethostname: ["name"],
  setdomainname: ["name"],
  openRoot: ["path"],
  mount: ["source", "sourceWhere", "target", "targetWhere", "fstype", "flags", "data"],
  mkdirAll: ["path", "mode"],
  mkfile: ["path", "mode"],
  mknod: ["path", "mode", "dev"],
  symlink: ["target", "path"],
  chown: ["path", "uid", "gid"],
  pivotRoot: [],
  chrootMove: [],
  mask: ["path"],
  readonly: ["path"],
  setrlimit: ["resource", "soft", "hard"],
  setsid: [],
  joinKeyring: ["name"],
  prctl: ["option", "arg"],
  setgroups: ["gids"],
  setresgid: ["gid"],
  setresuid: ["uid"],
  capBounding: ["keep"],
  capset: ["effective", "permitted", "inheritable"],
  capAmbient: ["raise"],
  umask: ["mask"],
  chdir: ["path", "optional"],
  closeFrom: ["first"],
  seccomp: ["filter", "flags"],
  openExecFifo: ["path"],
  waitStart: [],
  consoleConnect: ["path"],
  console: ["rows", "cols"],
  exec: ["argv", "env"],
  checkExec: ["argv", "env"],
  chroot: ["path"],
  openCgroup: ["tasks", "dir"],
  joinCgroup: [],
  openNs: ["path", "nstype"],
  joinOpenedNs: [],
  runHook: ["path", "args", "env", "timeout", "state"],
  deviceFilter: ["dir", "program"],
  listenerConnect: ["path"],
  sendListener: ["state"],
  personality: ["persona"],
  schedSetattr: ["policy", "flags", "nice", "priority", "runtime", "deadline", "period"],
  ioprioSet: ["value"],
  setAffinity: ["cpus"],
  idmapMount: ["slot", "source", "recursion", "uidMap", "gidMap"],
  attachMount: ["slot", "target"],
  tmpfs: ["target", "flags", "data", "source", "copyUp", "inheritMode"],
  mountSetattr: ["target", "attrSet", "attrClr"],
};

const KIND_INT = 1;
const KIND_BYTES = 2;

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

function encodeField(w: Writer, value: unknown, where: string): void {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`plan field ${where} is not an integer: ${value}`);
    w.u8(KIND_INT);
    w.i64(BigInt(value));
  } else if (typeof value === "bigint") {
    w.u8(KIND_INT);
    w.i64(value);
  } else if (typeof value === "boolean") {
    w.u8(KIND_INT);
    w.i64(value ? 1n : 0n);
  } else if (typeof value === "string") {
    if (value.includes("\0")) throw new Error(`plan field ${where} contains a NUL byte`);
    w.u8(KIND_BYTES);
    w.bytes(Buffer.from(value, "utf8"));
  } else if (value instanceof Uint8Array) {
    w.u8(KIND_BYTES);
    w.bytes(value);
  } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    for (const s of value) if (s.includes("\0")) throw new Error(`plan field ${where} contains a NUL byte`);
    w.u8(KIND_BYTES);
    w.bytes(Buffer.from(value.map((s) => `${s}\0`).join(""), "utf8"));
  } else if (Array.isArray(value) && value.every((v) => typeof v === "number")) {
    const b = Buffer.alloc(value.length * 4);
    for (const [i, v] of value.entries()) b.writeUInt32LE(v, i * 4);
    w.u8(KIND_BYTES);
    w.bytes(b);
  } else {
    throw new Error(`plan field ${where} has no wire encoding`);
  }
}

export function encodeOp(w: Writer, op: Op): void {
  const fields = FIELDS[op.op] as string[];
  w.u16(OP_CODES[op.op]);
  w.u16(fields.length);
  for (const f of fields) encodeField(w, (op as unknown as Record<string, unknown>)[f], `${op.op}.${f}`);
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
