/**
 * The built-in default image, busybox:latest, so that `run busybox` works on a fresh machine
 * with no registry and no tarball. It is built on first use from the host's static busybox
 * (Debian's busybox-static, /bin/busybox) as one layer — /bin/busybox with a symlink per applet
 * (`busybox --list`), /etc/passwd and /etc/group with root and nobody, /tmp 1777, /root and the
 * mount points /proc /sys /dev — and stored as an ordinary image. The layer's bytes and the
 * config depend only on the binary (times are its mtime), so a rebuild gives the same image id.
 * Concurrent first uses build it once: the build holds images/build.lock and looks again first.
 */
import { execFile } from "node:child_process";
import { createReadStream, promises as fsp } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { HuskError } from "../errors.ts";
import { lockExclusive } from "../sys/index.ts";
import { commitLayers, DEFAULT_PATH_ENV } from "./import.ts";
import type { Digest } from "./oci.ts";
import { findImage, type ImageStore } from "./store.ts";
import { TAR_END, type TarWriteEntry, tarHeader, tarPadding } from "./tar-writer.ts";

export const BUSYBOX_IMAGE = "busybox:latest";
export const BUSYBOX_BINARY = "/bin/busybox";

export interface BusyboxOptions {
  /** The static busybox to build from. Default /bin/busybox. */
  binary?: string;
}

const HINT = "(on Debian: apt-get install busybox-static)";

/** Whether an ELF executable asks for a program interpreter (is dynamically linked). */
export function elfIsDynamic(head: Buffer): boolean {
  if (head.length < 64 || head.toString("latin1", 0, 4) !== "\x7fELF") throw new Error("not an ELF executable");
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number) => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const phoff = is64 ? Number(le ? head.readBigUInt64LE(0x20) : head.readBigUInt64BE(0x20)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > head.length) throw new Error("program headers beyond the part read");
    if (u32(off) === 3) return true; // PT_INTERP
  }
  return false;
}

async function checkBinary(binary: string): Promise<{ size: number; mtime: number; applets: string[] }> {
  const what = `build the built-in busybox image from ${binary}`;
  let head: Buffer;
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(binary);
    const fh = await fsp.open(binary, "r");
    try {
      head = Buffer.alloc(4096);
      head = head.subarray(0, (await fh.read(head, 0, head.length, 0)).bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HuskError(`${e.code === "ENOENT" ? "no such file" : e.message} ${HINT}`, { what, errno: e.code });
  }
  let dynamic: boolean;
  try {
    dynamic = elfIsDynamic(head);
  } catch (err) {
    throw new HuskError(`${(err as Error).message} ${HINT}`, { what });
  }
  if (dynamic) throw new HuskError(`it is dynamically linked, so it cannot run alone in an image ${HINT}`, { what });
  let stdout: string;
  try {
    stdout = (await promisify(execFile)(binary, ["--list"], { encoding: "utf8" })).stdout;
  } catch (err) {
    throw new HuskError(`busybox --list failed: ${(err as Error).message}`, { what });
  }
  const applets = stdout
    .split("\n")
    .filter((a) => a && a !== "busybox" && a !== "." && a !== ".." && !a.includes("/"))
    .sort();
  if (!applets.includes("sh")) throw new HuskError("this busybox has no sh applet", { what });
  return { size: Number(st.size), mtime: Math.floor(Number(st.mtimeMs) / 1000), applets };
}

/** The layer as a tar stream. */
async function* layerTar(binary: string, b: { size: number; mtime: number; applets: string[] }): AsyncGenerator<Buffer> {
  const mtime = b.mtime;
  const dirs: [string, number][] = [
    ["bin", 0o755],
    ["dev", 0o755],
    ["etc", 0o755],
    ["home", 0o755],
    ["proc", 0o555],
    ["root", 0o700],
    ["sys", 0o555],
    ["tmp", 0o1777],
    ["usr", 0o755],
    ["var", 0o755],
  ];
  for (const [path, mode] of dirs) yield tarHeader({ path, type: "dir", mode, mtime });
  yield tarHeader({ path: "bin/busybox", type: "file", mode: 0o755, size: b.size, mtime });
  let n = 0;
  for await (const chunk of createReadStream(binary)) {
    n += chunk.length;
    if (n > b.size) break;
    yield chunk as Buffer;
  }
  if (n !== b.size) throw new HuskError("the binary changed while being read", { what: `build busybox from ${binary}` });
  yield tarPadding(b.size);
  for (const a of b.applets) yield tarHeader({ path: `bin/${a}`, type: "symlink", linkname: "busybox", mode: 0o777, mtime });
  const files: [string, string][] = [
    ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"],
    ["etc/group", "root:x:0:\nnobody:x:65534:\n"],
  ];
  for (const [path, text] of files) {
    const data = Buffer.from(text);
    const e: TarWriteEntry = { path, type: "file", mode: 0o644, size: data.length, mtime };
    yield tarHeader(e);
    yield data;
    yield tarPadding(data.length);
  }
  yield TAR_END;
}

async function build(store: ImageStore, binary: string): Promise<Digest> {
  const b = await checkBinary(binary);
  return store.withLease(async (lease) => {
    const blob = await store.ingest(layerTar(binary, b), lease);
    return commitLayers(store, lease, [{ ...blob, diffId: blob.digest }], {
      config: { Env: [DEFAULT_PATH_ENV], Cmd: ["sh"] },
      tags: [BUSYBOX_IMAGE],
      created: new Date(b.mtime * 1000).toISOString(),
      createdBy: `husk: the built-in busybox image, from ${binary}`,
    });
  });
}

/**
 * The id of busybox:latest, building it first if the store has no such tag (built: true, for
 * the caller that wants to say so). A busybox:latest that is there already (imported or
 * pulled) is used as it is.
 */
export async function ensureBusybox(store: ImageStore, opts: BusyboxOptions = {}): Promise<{ id: Digest; built: boolean }> {
  const found = findImage(await store.readIndex(), BUSYBOX_IMAGE);
  if (found) return { id: found.id, built: false };
  await store.ensureLayout();
  const lockFile = join(store.root, "build.lock");
  await (await fsp.open(lockFile, "a", 0o600)).close();
  const release = await lockExclusive(lockFile, store.helper);
  try {
    const again = findImage(await store.readIndex(), BUSYBOX_IMAGE);
    if (again) return { id: again.id, built: false };
    return { id: await build(store, opts.binary ?? BUSYBOX_BINARY), built: true };
  } finally {
    release();
  }
}
