/**
 * The Bun implementations of the sys calls (Bun.spawn's raw socket fds, bun:ffi for pipe2;
 * flock is in bun-libc.ts); node.ts has a twin of each. Loaded only when running under Bun
 * (see index.ts), so that nothing here is imported by Node.
 */
import { ptr } from "bun:ffi";
import { closeSync, writeSync } from "node:fs";
import { bind, libc, osConstants, sysError } from "./bun-libc.ts";
import { type Channel, ChunkChannel } from "./channel.ts";
import type { HelperProcess, HelperStdio, SpawnOptions } from "./index.ts";

function signalNumber(sig: string | number): number {
  return typeof sig === "number" ? sig : ((osConstants().signals as Record<string, number>)[sig] ?? 0);
}

/**
 * The sync channel: Bun.spawn hands out its socketpair end non-blocking, and Bun's own reader
 * (Bun.file(fd).stream()) reads it on the event loop. Before, the fd was made blocking through
 * bun:ffi (fcntl, ~1.5 ms of binding per process) and read on the thread pool (its first job
 * has ~1 ms of latency). Bun's reader leaves the fd open; close() cancels it and closes the fd
 * only once the reader has let go, so a reused fd number is never read as the channel.
 * Writes go straight out (a message or a plan fits the socket's buffer); a socket that is full
 * is waited on a millisecond at a time. Reading starts at the first read: a pending one would
 * keep this process alive while a spare helper waits unused (helper/spares.ts).
 */
function fdChannel(fd: number): Channel {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
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
      if (!reader) return closeSync(fd);
      reader.cancel().then(
        () => closeSync(fd),
        () => closeSync(fd),
      );
    },
    () => {
      const r = Bun.file(fd).stream().getReader();
      reader = r;
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await r.read();
            if (done) break;
            channel.push(value);
          }
          channel.end();
        } catch (err) {
          channel.end(err as Error);
        }
      })();
    },
  );
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
    const [file, ...args] = argv as [string, ...string[]];
    proc = Bun.spawn([opts.exe ?? file, ...args, String(syncSlot)], {
      stdio: [i, out?.writeFd ?? o, err?.writeFd ?? e, ...preserved, "pipe"],
      env: opts.env ?? {},
      argv0: file,
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
  return { pid: proc.pid, channel: fdChannel(fd), exited, stdio, unref: () => proc.unref(), ref: () => proc.ref() };
}
