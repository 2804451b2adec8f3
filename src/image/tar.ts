/**
 * A streaming tar reader: ustar, PAX (x and g headers: path, linkpath, size, uid, gid, uname,
 * gname, fractional mtime, SCHILY.xattr.* and LIBARCHIVE.xattr.* with binary values) and the
 * GNU extensions images carry (L/K long names, base-256 numbers for uid/gid/size beyond the
 * octal fields). Hand-written rather than tar-stream, which drops PAX uid/gid and decodes xattr
 * values as text (security.capability is binary).
 *
 * It reads the stream once, without seeking, and yields each entry with its data as a lazy
 * stream that must be read (or is skipped) before the next entry. After the end-of-archive
 * blocks it reads the stream to its end, so a hash computed over the stream covers all of it.
 *
 * The header functions are pure and exported for tests; nothing here touches the filesystem:
 * names are returned as the archive has them, and layer.ts decides what is safe.
 */
import { HuskError } from "../errors.ts";

export type TarType = "file" | "link" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarHeader {
  /** The entry's name as stored (PAX path, GNU long name or ustar prefix/name). */
  path: string;
  type: TarType;
  /** Permission bits and set-id/sticky bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (0 for every type but file). */
  size: number;
  /** Seconds since the epoch, with a fraction when PAX gave one. */
  mtime: number;
  /** Symlink target or hard link's target entry name. */
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes by name, values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry extends TarHeader {
  /** Where the entry's data starts in the stream. */
  offset: number;
  /** The entry's data; read it before asking for the next entry, or it is skipped. */
  body(): AsyncGenerator<Buffer>;
}

/** The raw fields of one 512-byte header block. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** "ustar" (POSIX, with prefix), "gnu" or "v7". */
  format: "ustar" | "gnu" | "v7";
}

const BLOCK = 512;
/** PAX and GNU long-name data is held in memory: refuse absurd sizes. */
const META_MAX = 16 * 1024 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function tarError(message: string): HuskError {
  return new HuskError(message, { what: "read tar" });
}

function cstring(b: Uint8Array): Uint8Array {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** Bytes as UTF-8; a name that is not UTF-8 cannot be a path here, so it is refused. */
export function decodeName(b: Uint8Array, field: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw tarError(`${field} is not valid UTF-8: ${JSON.stringify(Buffer.from(b).toString("latin1"))}`);
  }
}

/** A numeric field: octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
export function parseNumeric(b: Uint8Array, field: string): number {
  if (b.length > 0 && b[0]! & 0x80) {
    if (b[0] === 0xff) throw tarError(`negative ${field} in a tar header`);
    let v = BigInt(b[0]! & 0x7f);
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw tarError(`${field} too large in a tar header`);
    return Number(v);
  }
  const s = Buffer.from(b)
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw tarError(`bad ${field} ${JSON.stringify(s)} in a tar header`);
  return Number.parseInt(s, 8);
}

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Parse one header block; null for a zero block (end of archive). Checks the checksum. */
export function parseHeaderBlock(block: Uint8Array): RawHeader | null {
  if (block.length !== BLOCK) throw tarError("short tar header block");
  if (isZero(block)) return null;
  const field = (off: number, len: number) => block.subarray(off, off + len);
  // The checksum is the sum of the header's bytes with its own field read as spaces; old
  // writers summed signed chars, so both sums are accepted.
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  let sum: number | undefined;
  try {
    sum = parseNumeric(field(148, 8), "checksum");
  } catch {}
  if (sum !== unsigned && sum !== signed) throw tarError("bad tar header checksum (not a tar archive, or a corrupt one)");
  const magic = Buffer.from(field(257, 8)).toString("latin1");
  const format = magic.startsWith("ustar\0") ? "ustar" : magic === "ustar  \0" ? "gnu" : "v7";
  let name = decodeName(cstring(field(0, 100)), "entry name");
  if (format === "ustar") {
    const prefix = decodeName(cstring(field(345, 155)), "entry name prefix");
    if (prefix) name = `${prefix}/${name}`;
  }
  const text = (off: number, len: number, what: string) => decodeName(cstring(field(off, len)), what);
  const hasDev = format !== "v7";
  return {
    name,
    mode: parseNumeric(field(100, 8), "mode"),
    uid: parseNumeric(field(108, 8), "uid"),
    gid: parseNumeric(field(116, 8), "gid"),
    size: parseNumeric(field(124, 12), "size"),
    mtime: parseNumeric(field(136, 12), "mtime"),
    typeflag: String.fromCharCode(block[156]!),
    linkname: text(157, 100, "link name"),
    uname: hasDev ? text(265, 32, "user name") : "",
    gname: hasDev ? text(297, 32, "group name") : "",
    devmajor: hasDev ? parseNumeric(field(329, 8), "devmajor") : 0,
    devminor: hasDev ? parseNumeric(field(337, 8), "devminor") : 0,
    format,
  };
}

/** PAX extended header records: "<len> <key>=<value>\n", values kept as bytes. */
export function parsePaxRecords(data: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // padding some writers leave
    const sp = buf.indexOf(0x20, i);
    const lenText = sp < 0 ? "" : buf.toString("latin1", i, sp);
    const len = /^[0-9]+$/.test(lenText) ? Number(lenText) : Number.NaN;
    if (!(len > 0) || i + len > buf.length || buf[i + len - 1] !== 0x0a) throw tarError("malformed PAX extended header");
    const rec = buf.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw tarError("malformed PAX record (no key)");
    out.set(decodeName(rec.subarray(0, eq), "PAX key"), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

const TYPES: Record<string, TarType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "link",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

function paxNumber(v: Buffer, key: string, fraction = false): number {
  const s = v.toString("latin1");
  const ok = fraction ? /^-?[0-9]+(\.[0-9]+)?$/.test(s) : /^[0-9]+$/.test(s);
  const n = Number(s);
  if (!ok || !Number.isFinite(n) || (!fraction && !Number.isSafeInteger(n)))
    throw tarError(`bad PAX ${key} ${JSON.stringify(s)}`);
  return n;
}

/**
 * The entry a header describes, with PAX records (global then per-entry) and GNU long names
 * applied. An empty PAX value means "use the header's".
 */
export function resolveHeader(raw: RawHeader, pax: Map<string, Buffer>, longName?: string, longLink?: string): TarHeader {
  const type = TYPES[raw.typeflag];
  if (!type) {
    const what = raw.typeflag === "S" ? "GNU sparse files are" : `tar entry type ${JSON.stringify(raw.typeflag)} is`;
    throw tarError(`${what} not supported (entry "${raw.name}")`);
  }
  const h: TarHeader = {
    path: longName ?? raw.name,
    type,
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    size: raw.size,
    mtime: raw.mtime,
    linkname: longLink ?? raw.linkname,
    uname: raw.uname,
    gname: raw.gname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs: new Map(),
  };
  for (const [key, value] of pax) {
    if (value.length === 0) continue;
    if (key === "path") h.path = decodeName(value, "PAX path");
    else if (key === "linkpath") h.linkname = decodeName(value, "PAX linkpath");
    else if (key === "size") h.size = paxNumber(value, key);
    else if (key === "uid") h.uid = paxNumber(value, key);
    else if (key === "gid") h.gid = paxNumber(value, key);
    else if (key === "uname") h.uname = decodeName(value, "PAX uname");
    else if (key === "gname") h.gname = decodeName(value, "PAX gname");
    else if (key === "mtime") h.mtime = paxNumber(value, key, true);
    else if (key === "SCHILY.devmajor") h.devmajor = paxNumber(value, key);
    else if (key === "SCHILY.devminor") h.devminor = paxNumber(value, key);
    else if (key.startsWith("SCHILY.xattr.")) h.xattrs.set(key.slice("SCHILY.xattr.".length), value);
    else if (key.startsWith("LIBARCHIVE.xattr.")) {
      const name = decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length));
      if (!h.xattrs.has(name)) h.xattrs.set(name, Buffer.from(value.toString("latin1"), "base64"));
    } else if (key.startsWith("GNU.sparse.")) throw tarError(`GNU sparse files are not supported (entry "${h.path}")`);
  }
  // Old (v7) archives mark directories only by a trailing slash.
  if (h.type === "file" && raw.typeflag !== "7" && h.path.endsWith("/")) h.type = "dir";
  if (h.type !== "file") h.size = 0;
  return h;
}

/** Pulls exact byte counts out of an async stream of chunks of any size. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  /** Bytes handed out (or skipped) so far. */
  offset = 0;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Make unread bytes available; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.buf.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.buf = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      this.pos = 0;
    }
    return true;
  }

  /** Up to max bytes (at least one), as a view; throws at the end of the stream. */
  async chunk(max: number): Promise<Buffer> {
    if (!(await this.fill())) throw tarError("unexpected end of tar archive (truncated)");
    const n = Math.min(max, this.buf.length - this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly n bytes (copied), or null when the stream ends before the first. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const out = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const c = await this.chunk(n - got);
      c.copy(out, got);
      got += c.length;
    }
    return out;
  }

  async skip(n: number): Promise<void> {
    for (let left = n; left > 0; ) left -= (await this.chunk(left)).length;
  }

  /** Read to the end, discarding. */
  async drain(): Promise<void> {
    while (await this.fill()) {
      this.offset += this.buf.length - this.pos;
      this.pos = this.buf.length;
    }
  }
}

const padding = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

/** The entries of a tar stream, in order. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const it = source[Symbol.asyncIterator]();
  const src = new ByteSource(it);
  const global = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  const readMeta = async (size: number, what: string): Promise<Buffer> => {
    if (size > META_MAX) throw tarError(`${what} of ${size} bytes is too large`);
    const data = size ? await src.read(size) : Buffer.alloc(0);
    if (!data) throw tarError("unexpected end of tar archive (truncated)");
    await src.skip(padding(size));
    return data;
  };
  try {
    for (;;) {
      const block = await src.read(BLOCK);
      if (!block) break; // no end-of-archive blocks: accepted, as GNU tar and Go do
      const raw = parseHeaderBlock(block);
      if (!raw) break;
      switch (raw.typeflag) {
        case "x":
          for (const [k, v] of parsePaxRecords(await readMeta(raw.size, "PAX header"))) pax.set(k, v);
          continue;
        case "g":
          for (const [k, v] of parsePaxRecords(await readMeta(raw.size, "PAX global header"))) {
            if (v.length) global.set(k, v);
            else global.delete(k);
          }
          continue;
        case "L":
          longName = decodeName(cstring(await readMeta(raw.size, "GNU long name")), "GNU long name");
          continue;
        case "K":
          longLink = decodeName(cstring(await readMeta(raw.size, "GNU long link name")), "GNU long link name");
          continue;
        case "V": // GNU volume label: no entry
          await readMeta(raw.size, "GNU volume label");
          continue;
      }
      const header = resolveHeader(raw, new Map([...global, ...pax]), longName, longLink);
      pax = new Map();
      longName = undefined;
      longLink = undefined;
      let left = header.size;
      const offset = src.offset;
      yield {
        ...header,
        offset,
        async *body() {
          while (left > 0) {
            const c = await src.chunk(left);
            left -= c.length;
            yield c;
          }
        },
      };
      await src.skip(left + padding(header.size));
    }
    await src.drain();
  } finally {
    await it.return?.();
  }
}
