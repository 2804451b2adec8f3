/**
 * libc through bun:ffi, for the Bun implementations of the sys calls: the functions bound on
 * first use, errno, flock(2), and the file operations of files.ts that the runtime CLI uses
 * instead of node:fs (libcFiles). Kept apart from bun.ts (spawning the helper, its channel and
 * pipes): `start`, `kill` and `delete` take the state lock and spawn nothing.
 */
import { dlopen, FFIType, read as readPtr } from "bun:ffi";
import { errnoMessage, errnoName } from "../errors.ts";
import type { Files } from "./files.ts";
import { waitForFlock } from "./flock-wait.ts";

/** node:os when a signal is named, not at load. */
export const osConstants = () => (process.getBuiltinModule("node:os") as typeof import("node:os")).constants;

const { i32, i64, u32, u64, ptr } = FFIType;

/** The libc functions husk calls; each is bound on first use, see bind(). */
const LIBC = {
  flock: { args: [i32, i32], returns: i32 },
  pipe2: { args: [ptr, i32], returns: i32 },
  __errno_location: { args: [], returns: ptr },
  open: { args: [ptr, i32, u32], returns: i32 },
  read: { args: [i32, ptr, u64], returns: i64 },
  write: { args: [i32, ptr, u64], returns: i64 },
  close: { args: [i32], returns: i32 },
  access: { args: [ptr, i32], returns: i32 },
  unlink: { args: [ptr], returns: i32 },
  rmdir: { args: [ptr], returns: i32 },
  statfs: { args: [ptr, ptr], returns: i32 },
  shutdown: { args: [i32, i32], returns: i32 },
  recv: { args: [i32, ptr, u64, i32], returns: i64 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof LIBC>>["symbols"];

const bound: Partial<Libc> = {};

/**
 * Bind libc functions not bound yet, in one dlopen (a memoised pure lookup: the same function
 * every time). Bun compiles a trampoline per symbol and each dlopen has its cost: callers bind
 * what they will need together. errno is read only after a call made once it was bound:
 * binding may itself change errno.
 */
export function bind(...names: (keyof typeof LIBC)[]): void {
  const missing = names.filter((n) => bound[n] === undefined);
  if (missing.length === 0) return;
  const symbols = dlopen("libc.so.6", Object.fromEntries(missing.map((n) => [n, LIBC[n]])) as typeof LIBC).symbols;
  for (const n of missing) (bound as Record<string, unknown>)[n] = symbols[n];
}

export function libc<K extends keyof typeof LIBC>(name: K): Libc[K] {
  if (bound[name] === undefined) bind(name);
  return bound[name] as Libc[K];
}

export function errno(): number {
  return readPtr.i32(libc("__errno_location")() as unknown as number, 0);
}

/**
 * The errnos the runtime verbs meet on their usual paths (a stopped container's /proc entry, a
 * gone or busy cgroup, a fifo without reader), named without node:os (~0.45 ms to load);
 * Linux's numbers on every architecture husk builds for.
 */
const COMMON_ERRNOS: Record<number, [string, string]> = {
  2: ["ENOENT", "no such file or directory"],
  6: ["ENXIO", "no such device or address"],
  16: ["EBUSY", "device or resource busy"],
  39: ["ENOTEMPTY", "directory not empty"],
};

export function sysError(call: string, subject: string, code = errno()): NodeJS.ErrnoException {
  const name = COMMON_ERRNOS[code]?.[0] ?? errnoName(code);
  const err = new Error(`${call} ${subject}: ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = -code;
  err.syscall = call;
  return err;
}

/** An error as node:fs words it ("ENOENT: no such file or directory, open '/x'"), from errno. */
function fsError(call: string, path: string): NodeJS.ErrnoException {
  const code = errno();
  const err = sysError(call, path, code);
  const text = COMMON_ERRNOS[code]?.[1] ?? errnoMessage(code);
  err.message = `${err.code}: ${text}, ${call} '${path}'`;
  err.path = path;
  return err;
}

const encoder = new TextEncoder();

/** A path for libc; one with a NUL in it is refused, as node:fs refuses it (libc would cut it there). */
function cString(path: string): Uint8Array {
  if (path.includes("\0")) {
    const err = new TypeError(`path must be a string without null bytes: ${JSON.stringify(path)}`) as NodeJS.ErrnoException;
    err.code = "ERR_INVALID_ARG_VALUE";
    throw err;
  }
  return encoder.encode(`${path}\0`);
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const EINTR = 4;

function open(path: string, flags: number): number {
  for (;;) {
    const fd = libc("open")(cString(path), flags | O_CLOEXEC, 0);
    if (fd >= 0) return fd;
    if (errno() !== EINTR) throw fsError("open", path);
  }
}

function close(fd: number): void {
  libc("close")(fd);
}

/** Calls `op` again after EINTR; returns its result, or throws for a failure. */
function retried(op: () => number | bigint, call: string, subject: string): number {
  for (;;) {
    const n = Number(op());
    if (n >= 0) return n;
    if (errno() !== EINTR) throw fsError(call, subject);
  }
}

function readFile(path: string): string {
  const fd = open(path, O_RDONLY);
  try {
    // /proc and cgroup files report size 0: read until EOF, growing the buffer.
    let buf = new Uint8Array(16384);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = retried(() => libc("read")(fd, buf.subarray(len), buf.length - len), "read", path);
      if (n === 0) break;
      len += n;
    }
    return new TextDecoder().decode(buf.subarray(0, len));
  } finally {
    close(fd);
  }
}

function write(fd: number, data: Uint8Array, offset: number): number {
  for (;;) {
    const n = Number(libc("write")(fd, data.subarray(offset), data.length - offset));
    if (n >= 0) return n;
    const code = errno();
    if (code !== EINTR) throw sysError("write", `fd ${fd}`, code);
  }
}

/**
 * files.ts's operations through libc, for the runtime CLI on Bun: every function bound in one
 * dlopen: bun:ffi and the binding ~0.3–0.5 ms, against node:fs's ~1.1–1.5 ms of loading.
 */
export function libcFiles(): Files {
  bind(...(Object.keys(LIBC) as (keyof typeof LIBC)[]).filter((n) => n !== "pipe2"));
  return {
    readFile,
    exists(path) {
      try {
        return libc("access")(cString(path), 0) === 0;
      } catch {
        return false; // as existsSync: a path that cannot be asked about does not exist
      }
    },
    unlink(path) {
      if (libc("unlink")(cString(path)) !== 0) throw fsError("unlink", path);
    },
    rmdir(path) {
      if (libc("rmdir")(cString(path)) !== 0) throw fsError("rmdir", path);
    },
    fsType(path) {
      // struct statfs starts with f_type, a long: 120 bytes on the 64-bit ABIs, room to spare.
      const buf = new BigInt64Array(32);
      if (libc("statfs")(cString(path), buf) !== 0) throw fsError("statfs", path);
      return Number(buf[0]);
    },
    writeFifo(path, data) {
      const fd = open(path, O_WRONLY | O_NONBLOCK);
      try {
        const bytes = encoder.encode(data);
        for (let off = 0; off < bytes.length; ) off += write(fd, bytes, off);
      } finally {
        close(fd);
      }
    },
    write,
  };
}

/**
 * See index.ts: flock(2) LOCK_EX on path without blocking the event loop (flock-wait.ts);
 * closing the fd releases it.
 */
export async function lockExclusive(path: string): Promise<() => void> {
  bind("open", "close", "flock", "__errno_location");
  const fd = open(path, O_RDONLY);
  try {
    await waitForFlock(
      (operation) => (libc("flock")(fd, operation) === 0 ? 0 : errno()),
      (code) => sysError("flock", path, code),
    );
  } catch (err) {
    close(fd);
    throw err;
  }
  return () => close(fd);
}
