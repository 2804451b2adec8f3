/**
 * Writing tar headers: ustar, with a PAX header in front when a name or link name does not fit,
 * an id or size is too large for its octal field, or the entry has xattrs. Used to build the
 * built-in busybox layer and to save images as archives. Pure: it makes bytes, the caller writes
 * them (header, data, padding(size), …, TAR_END).
 */
import type { TarType } from "./tar.ts";

export interface TarWriteEntry {
  path: string;
  type: TarType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** Seconds since the epoch (whole seconds are written). */
  mtime?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Uint8Array>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarType, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

/** Two zero blocks: the end of an archive. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);

/** Zero bytes that round an entry's data up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Whether n fits an octal field of `width` bytes (digits plus a NUL). */
function fitsOctal(n: number, width: number): boolean {
  return n >= 0 && n < 8 ** (width - 1);
}

function putOctal(block: Buffer, off: number, width: number, n: number): void {
  if (fitsOctal(n, width)) {
    block.write(`${n.toString(8).padStart(width - 1, "0")}\0`, off, width, "latin1");
    return;
  }
  // GNU base-256: high bit set, big-endian value in the rest of the field.
  let v = BigInt(n);
  for (let i = width - 1; i > 0; i--) {
    block[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[off] = 0x80;
}

function paxRecord(key: string, value: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, "utf8"), value, Buffer.from("\n")]);
  // The length counts its own digits: grow until it is consistent.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Split a name into ustar's prefix (155) and name (100) at a slash, if it fits. */
function splitName(path: string): [string, string] | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return ["", path];
  if (bytes > 256) return undefined;
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return [prefix, name];
  }
  return undefined;
}

function ustarBlock(e: TarWriteEntry, name: string, prefix: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, "utf8");
  putOctal(b, 100, 8, (e.mode ?? (e.type === "dir" ? 0o755 : 0o644)) & 0o7777);
  putOctal(b, 108, 8, e.uid ?? 0);
  putOctal(b, 116, 8, e.gid ?? 0);
  putOctal(b, 124, 12, size);
  putOctal(b, 136, 12, Math.max(0, Math.floor(e.mtime ?? 0)));
  b.write(typeflag, 156, 1, "latin1");
  if (e.linkname && Buffer.byteLength(e.linkname) <= 100) b.write(e.linkname, 157, 100, "utf8");
  b.write("ustar\x0000", 257, 8, "latin1");
  b.write((e.uname ?? "").slice(0, 31), 265, 32, "utf8");
  b.write((e.gname ?? "").slice(0, 31), 297, 32, "utf8");
  putOctal(b, 329, 8, e.devmajor ?? 0);
  putOctal(b, 337, 8, e.devminor ?? 0);
  b.write(prefix, 345, 155, "utf8");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return b;
}

/** The header block(s) for an entry: a PAX header first when needed, then the ustar header. */
export function tarHeader(e: TarWriteEntry): Buffer {
  const size = e.type === "file" ? (e.size ?? 0) : 0;
  const path = e.type === "dir" && !e.path.endsWith("/") ? `${e.path}/` : e.path;
  const records: Buffer[] = [];
  const split = splitName(path);
  if (!split) records.push(paxRecord("path", Buffer.from(path)));
  if (e.linkname && Buffer.byteLength(e.linkname) > 100) records.push(paxRecord("linkpath", Buffer.from(e.linkname)));
  for (const [key, v] of [
    ["uid", e.uid ?? 0],
    ["gid", e.gid ?? 0],
  ] as const) {
    if (!fitsOctal(v, 8)) records.push(paxRecord(key, Buffer.from(String(v))));
  }
  if (!fitsOctal(size, 12)) records.push(paxRecord("size", Buffer.from(String(size))));
  for (const [name, value] of e.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${name}`, value));
  const [prefix, name] = split ?? ["", path.slice(0, 100)];
  const blocks: Buffer[] = [];
  if (records.length) {
    const data = Buffer.concat(records);
    const paxName = `PaxHeaders/${name}`.slice(0, 100);
    blocks.push(ustarBlock({ path: paxName, type: "file", mtime: e.mtime }, paxName, "", "x", data.length));
    blocks.push(data, tarPadding(data.length));
  }
  blocks.push(ustarBlock(e, name, prefix, TYPEFLAG[e.type], size));
  return Buffer.concat(blocks);
}
