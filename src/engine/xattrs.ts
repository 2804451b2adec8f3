/**
 * Reading a tree's extended attributes (security.capability, ACLs, user.* …) for commit and
 * export, which node:fs cannot do: it has no getxattr or listxattr, on Node or on Bun.
 *
 * The native helper reads them: one `husk-helper --xattrs` process per commit or export answers
 * a batch of paths per directory (native/xattrs.c draws the protocol). That one way serves both
 * runtimes; bun:ffi could call lgetxattr in-process under Bun, but Node would still need the
 * helper, so that would be a second implementation to keep right for a ~1 ms process start
 * per tree and one pipe round trip per directory.
 *
 * An entry is named as /proc/<this pid>/fd/<directory fd>/<name>: the kernel jumps to the open
 * directory (fdtree.ts) and looks up <name> in it, and llistxattr/lgetxattr act on that last
 * component without following it, so a symlink the container planted is read as the link, and
 * no host file's attributes can show up through it.
 */
import type { ChildProcess } from "node:child_process";
import { errnoMessage, errnoName, HuskError } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import { isOverlayAttr, OVERLAY_XATTR_PREFIXES } from "../image/layer-entry.ts";
import type { Dir } from "./fdtree.ts";

/** An entry's extended attributes by name, values as raw bytes. */
export type Xattrs = Map<string, Buffer>;

/** What of xattrs a copy of the entry keeps: everything but overlayfs' own. */
export function copiedXattrs(x: Xattrs | undefined): Xattrs | undefined {
  if (!x || x.size === 0) return undefined;
  const kept = new Map([...x].filter(([name]) => !isOverlayAttr(name)));
  return kept.size ? kept : undefined;
}

/** Whether overlayfs marked a directory of its upper layer opaque (removed and made again). */
export function isOpaque(x: Xattrs | undefined): boolean {
  return OVERLAY_XATTR_PREFIXES.some((p) => x?.get(`${p}opaque`)?.toString("latin1") === "y");
}

/** errnos that mean "no attributes here": the entry went meanwhile, or its filesystem has none. */
const NONE = new Set(["ENOENT", "ENOTSUP", "EOPNOTSUPP"]);

interface Batch {
  dir: Dir;
  names: string[];
  got: Xattrs[];
  /** The first entry that could not be read: the batch fails once all its answers are in. */
  error?: HuskError;
  resolve(x: Map<string, Xattrs>): void;
  reject(err: Error): void;
}

/** One --xattrs helper process; close() it when the tree is read. */
export class XattrReader {
  readonly #proc: ChildProcess;
  readonly #queue: Batch[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #stderr = "";
  #failure: Error | undefined;
  readonly #exited: Promise<void>;

  constructor() {
    const cp = process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
    this.#proc = cp.spawn(helperPath(), ["--xattrs"], { stdio: ["pipe", "pipe", "pipe"] });
    this.#proc.stdin?.on("error", () => {}); // its death is reported by 'exit'
    this.#proc.stdout?.on("data", (d: Buffer) => this.#take(d));
    this.#proc.stderr?.on("data", (d: Buffer) => {
      this.#stderr += d.toString();
    });
    this.#exited = new Promise((resolve) => {
      this.#proc.once("error", (err) => {
        this.#fail(new HuskError(`cannot start the helper: ${err.message}`, { what: "read xattrs" }));
        resolve();
      });
      this.#proc.once("close", () => {
        this.#fail(new HuskError(this.#stderr.trim() || "the xattr helper exited", { what: "read xattrs" }));
        resolve();
      });
    });
  }

  /** The xattrs of each of names in dir (every name gets a map, empty when it has none). */
  read(dir: Dir, names: string[]): Promise<Map<string, Xattrs>> {
    if (names.length === 0) return Promise.resolve(new Map());
    if (this.#failure) return Promise.reject(this.#failure);
    const prefix = `/proc/${process.pid}/fd/${dir.fd}/`;
    return new Promise((resolve, reject) => {
      // dir.at checks each name is one component (no "/", "..", NUL) before it is sent.
      for (const n of names) dir.at(n);
      this.#queue.push({ dir, names, got: [], resolve, reject });
      this.#proc.stdin?.write(Buffer.from(names.map((n) => `${prefix}${n}\0`).join("")));
    });
  }

  /** Parse whole answers off the helper's output, handing each batch back when complete. */
  #take(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    let at = 0;
    while (this.#buf.length - at >= 8) {
      const err = this.#buf.readUInt32LE(at);
      const len = this.#buf.readUInt32LE(at + 4);
      if (this.#buf.length - at - 8 < len) break;
      const body = this.#buf.subarray(at + 8, at + 8 + len);
      at += 8 + len;
      const batch = this.#queue[0];
      if (!batch) {
        this.#fail(new HuskError("the xattr helper answered what was not asked", { what: "read xattrs" }));
        return;
      }
      const name = batch.names[batch.got.length]!;
      if (err !== 0 && !NONE.has(errnoName(err)))
        batch.error ??= new HuskError(errnoMessage(err), {
          what: `read the xattrs of ${batch.dir.sub(name)}`,
          errno: errnoName(err),
        });
      batch.got.push(err === 0 ? parseAttrs(body) : new Map());
      if (batch.got.length === batch.names.length) {
        this.#queue.shift();
        if (batch.error) batch.reject(batch.error);
        else batch.resolve(new Map(batch.names.map((n, i) => [n, batch.got[i]!])));
      }
    }
    this.#buf = Buffer.from(this.#buf.subarray(at));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const b of this.#queue.splice(0)) b.reject(this.#failure);
  }

  /** End the helper (its stdin closes) and wait for it. */
  async close(): Promise<void> {
    this.#proc.stdin?.end();
    await this.#exited;
  }
}

/** [u32 nlen · name · u32 vlen · value]… (native/xattrs.c). */
function parseAttrs(body: Buffer): Xattrs {
  const out: Xattrs = new Map();
  for (let i = 0; i < body.length; ) {
    const nlen = body.readUInt32LE(i);
    const name = body.toString("utf8", i + 4, i + 4 + nlen);
    const vlen = body.readUInt32LE(i + 4 + nlen);
    const start = i + 8 + nlen;
    out.set(name, Buffer.from(body.subarray(start, start + vlen)));
    i = start + vlen;
  }
  return out;
}
