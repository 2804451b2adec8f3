/**
 * The Bun implementations of the sys calls (Bun.spawn's raw socket fds, bun:ffi for flock and
 * pipe2); node.ts has a twin of each. Loaded only when running under Bun (see
 * index.ts), so that nothing here is imported by Node.
 */
import { dlopen, FFIType, ptr, read as readPtr } from "bun:ffi";
import { closeSync, constants as fsConstants, openSync, writeSync } from "node:fs";
import { type Channel, ChunkChannel } from "./channel.ts";
import type { HelperProcess, HelperStdio, SpawnOptions } from "./index.ts";

/** node:os when a signal or errno is named, not at load: start and kill load this file for flock. */
const osConstants = () => (process.getBuiltinModule("node:os") as typeof import("node:os")).constants;

function signalNumber(sig: string | number): number {
  return typeof sig === "number" ? sig : ((osConstants().signals as Record<string, number>)[sig] ?? 0);
}

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
function bind(...names: (keyof typeof LIBC)[]): void {
  const missing = names.filter((n) => bound[n] === undefined);
  if (missing.length === 0) return;
  const symbols = dlopen("libc.so.6", Object.fromEntries(missing.map((n) => [n, LIBC[n]])) as typeof LIBC).symbols;
  for (const n of missing) (bound as Record<string, unknown>)[n] = symbols[n];
}

function libc<K extends keyof typeof LIBC>(name: K): Libc[K] {
  bind(name);
  return bound[name] as Libc[K];
}

function errno(): number {
  return readPtr.i32(libc("__errno_location")() as unknown as number, 0);
}

function sysError(call: string, subject: string, code = errno()): NodeJS.ErrnoException {
  const name = Object.entries(osConstants().errno).find(([, v]) => v === code)?.[0] ?? `errno ${code}`;
  const err = new Error(`${call} ${subject}: ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = -code;
  err.syscall = call;
  return err;
}

/**
 * The sync channel: Bun.spawn hands out its socketpair end non-blocking, and Bun's own reader
 * (Bun.file(fd).stream()) reads it on the event loop. Before, the fd was made blocking through
 * bun:ffi (fcntl, ~1.5 ms of binding per process) and read on the thread pool (its first job
 * has ~1 ms of latency). Bun's reader leaves the fd open; close() cancels it and closes the fd
 * only once the reader has let go, so a reused fd number is never read as the channel.
 * Writes go straight out (a message or a plan fits the socket's buffer); a socket that is full
 * is waited on a millisecond at a time.
 */
function fdChannel(fd: number): Channel {
  const reader = Bun.file(fd).stream().getReader();
  const channel = new ChunkChannel(
    async (data) => {
      for (let off = 0; off < data.length; ) {
        try {
          off += writeSync(fd, data, off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
          await Bun.sleep(1);
        }
      }
    },
    () => {
      reader.cancel().then(
        () => closeSync(fd),
        () => closeSync(fd),
      );
    },
  );
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        channel.push(value);
      }
      channel.end();
    } catch (err) {
      channel.end(err as Error);
    }
  })();
  return channel;
}

const O_CLOEXEC = 0o2000000;

/** node:stream, fetched when a pipe is asked for: the runtime verbs that load this file for flock never pay for it. */
function streams(): typeof import("node:stream") {
  return process.getBuiltinModule("node:stream") as typeof import("node:stream");
}

/**
 * An output pipe read lazily. Bun.spawn's own "pipe" reads the child's output eagerly into
 * memory whether or not anyone consumes it (measured: 200 MB unread, 200 MB of RSS), so the
 * helper gets the write end of a pipe made here, and Bun.file(fd).stream() reads the other end
 * on the event loop only as fast as the Readable is consumed. Bun.file leaves the fd open: it is
 * closed with the stream.
 */
function outputPipe(): { readable: import("node:stream").Readable; writeFd: number } {
  bind("pipe2", "__errno_location");
  const fds = new Int32Array(2);
  if (libc("pipe2")(ptr(fds), O_CLOEXEC) !== 0) throw sysError("pipe2", "stdio");
  const [r, w] = [fds[0] as number, fds[1] as number];
  const readable = streams().Readable.fromWeb(Bun.file(r).stream() as unknown as import("node:stream/web").ReadableStream);
  readable.once("close", () => {
    try {
      closeSync(r);
    } catch {}
  });
  return { readable, writeFd: w };
}

/** Bun.spawn's stdin FileSink as a Writable: each chunk's callback waits for it to reach the pipe. */
function sinkWritable(sink: import("bun").FileSink): import("node:stream").Writable {
  const w = new (streams().Writable)({
    write(chunk: Buffer, _enc, cb) {
      try {
        sink.write(chunk);
        Promise.resolve(sink.flush()).then(
          () => cb(),
          (err) => cb(err),
        );
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      try {
        Promise.resolve(sink.end()).then(
          () => cb(),
          () => cb(),
        );
      } catch {
        cb();
      }
    },
    destroy(err, cb) {
      try {
        void Promise.resolve(sink.end()).catch(() => {});
      } catch {}
      cb(err);
    },
  });
  w.on("error", () => {});
  return w;
}

/** See index.ts. Bun.spawn hands the extra "pipe" slot out as a raw socket fd. */
export function spawnHelper(argv: string[], opts: SpawnOptions): HelperProcess {
  const preserveFds = opts.preserveFds ?? 0;
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  const syncSlot = 3 + preserveFds;
  const [i, o, e] = opts.stdio ?? ["inherit", "inherit", "inherit"];
  const out = o === "pipe" ? outputPipe() : undefined;
  const err = e === "pipe" ? outputPipe() : undefined;
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([...argv, String(syncSlot)], {
      stdio: [i, out?.writeFd ?? o, err?.writeFd ?? e, ...preserved, "pipe"],
      env: opts.env ?? {},
    });
  } catch (x) {
    out?.readable.destroy();
    err?.readable.destroy();
    throw x;
  } finally {
    // The helper has its copies; ours would keep the readers from ever seeing EOF.
    for (const p of [out, err]) if (p) closeSync(p.writeFd);
  }
  const fd = proc.stdio[syncSlot] as unknown as number;
  const exited = proc.exited.then((code) => (proc.signalCode ? 128 + signalNumber(proc.signalCode) : code));
  const stdio: HelperStdio = {};
  if (i === "pipe") stdio.stdin = sinkWritable(proc.stdin as import("bun").FileSink);
  if (out) stdio.stdout = out.readable;
  if (err) stdio.stderr = err.readable;
  return { pid: proc.pid, channel: fdChannel(fd), exited, stdio, unref: () => proc.unref() };
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/**
 * See index.ts: flock(2) LOCK_EX on path without blocking the event loop (try, and wait a
 * little while another holds it); closing the fd releases it.
 */
export async function lockExclusive(path: string, _helper?: string, _reuse?: unknown): Promise<() => void> {
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
