/**
 * libc through bun:ffi, for the Bun implementations of the sys calls: each function bound on
 * first use, errno, and flock(2). Kept apart from bun.ts (spawning the helper, its channel and
 * pipes): `start`, `kill` and `delete` take the state lock and spawn nothing, and a smaller
 * module to load is ~0.2 ms less of each (bench/verb-latency.ts).
 */
import { dlopen, FFIType, read as readPtr } from "bun:ffi";
import { closeSync, constants as fsConstants, openSync } from "node:fs";

/** node:os when a signal or errno is named, not at load: start and kill load this file for flock. */
export const osConstants = () => (process.getBuiltinModule("node:os") as typeof import("node:os")).constants;

/** The libc functions husk calls; each is bound on first use, see libc(). */
const LIBC = {
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

type Libc = ReturnType<typeof dlopen<typeof LIBC>>["symbols"];

const bound: Partial<Libc> = {};

/**
 * libc functions, each bound on first use (a memoised pure lookup: the same function every
 * time). Bun compiles a trampoline per bound symbol, ~0.3 ms each: `start` and `kill` need
 * flock (and errno only when it fails), not pipe2. errno is read only after a call made once
 * it was bound: binding (dlopen) may itself change errno.
 */
export function bind(...names: (keyof typeof LIBC)[]): void {
  const missing = names.filter((n) => bound[n] === undefined);
  if (missing.length === 0) return;
  const symbols = dlopen("libc.so.6", Object.fromEntries(missing.map((n) => [n, LIBC[n]])) as typeof LIBC).symbols;
  for (const n of missing) (bound as Record<string, unknown>)[n] = symbols[n];
}

export function libc<K extends keyof typeof LIBC>(name: K): Libc[K] {
  bind(name);
  return bound[name] as Libc[K];
}

function errno(): number {
  return readPtr.i32(libc("__errno_location")() as unknown as number, 0);
}

export function sysError(call: string, subject: string, code = errno()): NodeJS.ErrnoException {
  const name = Object.entries(osConstants().errno).find(([, v]) => v === code)?.[0] ?? `errno ${code}`;
  const err = new Error(`${call} ${subject}: ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = -code;
  err.syscall = call;
  return err;
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/**
 * See index.ts: flock(2) LOCK_EX on path without blocking the event loop (try, and wait a
 * little while another holds it); closing the fd releases it.
 */
export async function lockExclusive(path: string): Promise<() => void> {
  const fd = openSync(path, fsConstants.O_RDONLY);
  try {
    // errno is bound only once a flock fails (each binding costs ~0.3 ms; an uncontended lock
    // never needs it), and read after a fresh call: binding may itself change errno.
    for (let delay = 1; libc("flock")(fd, LOCK_EX | LOCK_NB) !== 0; delay = Math.min(delay * 2, 20)) {
      bind("__errno_location");
      if (libc("flock")(fd, LOCK_EX | LOCK_NB) === 0) break;
      const code = errno();
      if (code !== EWOULDBLOCK) throw sysError("flock", path, code);
      await Bun.sleep(delay);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return () => closeSync(fd);
}
