/**
 * The only module that uses Bun-specific APIs (Bun.spawn's raw socket fds, bun:ffi,
 * Bun.CryptoHasher).
 * Everything else in husk sticks to `node:*`, so the library can also run on Node once these
 * few calls have Node equivalents.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { constants } from "node:os";

export interface HelperProcess {
  pid: number;
  /** Our end of the sync channel (a unix stream socket), a raw fd for node:fs read/write. */
  syncFd: number;
  /** Resolves with the helper's exit code (128+N when killed by signal N). */
  exited: Promise<number>;
}

function signalNumber(sig: string | number): number {
  return typeof sig === "number" ? sig : ((constants.signals as Record<string, number>)[sig] ?? 0);
}

/**
 * Start `argv` with the caller's stdin/stdout/stderr, fds 3 … 3+preserveFds-1 passed through
 * unchanged, and a socketpair end at fd 3+preserveFds (whose number is appended to argv).
 * Bun hands the extra "pipe" slot out as a raw socket fd, which is what the helper's
 * blocking protocol wants.
 */
export function spawnHelper(argv: string[], preserveFds: number, env: Record<string, string> = {}): HelperProcess {
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  const syncSlot = 3 + preserveFds;
  const proc = Bun.spawn([...argv, String(syncSlot)], {
    stdio: ["inherit", "inherit", "inherit", ...preserved, "pipe"],
    env,
  });
  const syncFd = proc.stdio[syncSlot] as unknown as number;
  setBlocking(syncFd);
  const exited = proc.exited.then((code) => (proc.signalCode ? 128 + signalNumber(proc.signalCode) : code));
  return { pid: proc.pid, syncFd, exited };
}

function openLibc() {
  return dlopen("libc.so.6", {
    mkfifo: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

let libc: ReturnType<typeof openLibc> | undefined;

function lib(): ReturnType<typeof openLibc> {
  libc ??= openLibc();
  return libc;
}

function sysError(call: string, subject: string): NodeJS.ErrnoException {
  const code = read.i32(lib().__errno_location() as unknown as number, 0);
  const name = Object.entries(constants.errno).find(([, v]) => v === code)?.[0] ?? `errno ${code}`;
  const err = new Error(`${call} ${subject}: ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = -code;
  err.syscall = call;
  return err;
}

/** mkfifo(3): node:fs has no way to make a FIFO. */
export function mkfifo(path: string, mode: number): void {
  const p = Buffer.from(`${path}\0`, "utf8");
  if (lib().mkfifo(ptr(p), mode) !== 0) throw sysError("mkfifo", path);
}

/** flock(2) on an open fd, exclusive or shared, blocking. */
export function flock(fd: number, exclusive: boolean): void {
  if (lib().flock(fd, exclusive ? 2 : 1) !== 0) throw sysError("flock", String(fd));
}

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/** Bun creates its socketpair ends non-blocking; husk's side of the sync protocol blocks. */
function setBlocking(fd: number): void {
  const flags = lib().fcntl(fd, F_GETFL, 0);
  if (flags < 0 || lib().fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) throw sysError("fcntl", String(fd));
}

/** SHA-256 as hex. Bun's hasher: loading node:crypto costs Bun ~10 ms, this costs ~0.2. */
export function sha256(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}
