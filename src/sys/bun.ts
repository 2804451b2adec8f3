/**
 * The Bun implementations of the sys calls (Bun.spawn's raw socket fds, bun:ffi for pipe2;
 * flock is in bun-libc.ts); node.ts has a twin of each. Loaded only when running under Bun
 * (see index.ts), so that nothing here is imported by Node.
 */
import { ptr } from "bun:ffi";
import { closeSync, writeSync } from "node:fs";
import { BATCH_EXITED, BATCH_STARTED, BatchRecords, batchShape } from "./batch-wire.ts";
import { bind, errno, libc, osConstants, sysError } from "./bun-libc.ts";
import { type Channel, ChunkChannel } from "./channel.ts";
import type { HelperBatch, HelperProcess, HelperStdio, SpawnOptions } from "./index.ts";

function signalNumber(sig: string | number): number {
  return typeof sig === "number" ? sig : ((osConstants().signals as Record<string, number>)[sig] ?? 0);
}

/**
 * Close `fd`, once `reader` (Bun's reader of it, if any) has let go: Bun's reader leaves the fd
 * open, and a number closed under it could be reused and read as ours.
 */
function closeAfterReader(reader: ReadableStreamDefaultReader<Uint8Array> | undefined, fd: number): void {
  if (!reader) {
    closeSync(fd);
    return;
  }
  reader.cancel().then(
    () => closeSync(fd),
    () => closeSync(fd),
  );
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
      closeAfterReader(reader, fd);
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

/** pipe2(O_CLOEXEC): [read end, write end]. */
function pipeFds(): [number, number] {
  bind("pipe2", "__errno_location");
  const fds = new Int32Array(2);
  if (libc("pipe2")(ptr(fds), O_CLOEXEC) !== 0) throw sysError("pipe2", "stdio");
  return [fds[0] as number, fds[1] as number];
}

/** The read end of an output pipe as a Readable, read only as fast as it is consumed; the fd is closed with it. */
function pipeReadable(r: number): import("node:stream").Readable {
  const readable = streams().Readable.fromWeb(Bun.file(r).stream() as unknown as import("node:stream/web").ReadableStream);
  readable.once("close", () => {
    try {
      closeSync(r);
    } catch {}
  });
  return readable;
}

/**
 * An output pipe read lazily. Bun.spawn's own "pipe" reads the child's output eagerly into
 * memory whether or not anyone consumes it (measured: 200 MB unread, 200 MB of RSS), so the
 * helper gets the write end of a pipe made here, and Bun.file(fd).stream() reads the other end
 * on the event loop only as fast as the Readable is consumed. Bun.file leaves the fd open: it is
 * closed with the stream.
 */
function outputPipe(): { readable: import("node:stream").Readable; writeFd: number } {
  const [r, w] = pipeFds();
  return { readable: pipeReadable(r), writeFd: w };
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

const SHUT_WR = 1;
const MSG_PEEK = 2;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

/** Whether the peer of socket `fd` is still there: a peek that finds EOF says it is gone. */
function peerAlive(fd: number): boolean {
  bind("recv", "__errno_location");
  const n = Number(libc("recv")(fd, ptr(new Uint8Array(1)), 1, MSG_PEEK | MSG_DONTWAIT));
  return n > 0 || (n < 0 && errno() === EAGAIN);
}

type StdioSlot = "inherit" | "ignore" | "pipe" | number;

interface BatchSlot {
  pid: number;
  /** Its exit is known (or it was never forked, and its set is closed). */
  done: boolean;
  forking: boolean;
  refd: boolean;
  /** Its channel was closed here (a spare let go, or a detached container): nobody refs it again. */
  closed: boolean;
  /** Our ends of its output pipes, stdout's first. */
  reads: number[];
  sync: number;
  exited: Promise<number>;
  settle: (code: number) => void;
  started?: (h: HelperProcess) => void;
  failed?: (e: Error) => void;
}

/**
 * See index.ts, and node.ts's twin: one `husk-helper --batch` process holds `count` helpers'
 * sets and forks each when asked, so that this thread does not spawn them. Bun.spawn is a
 * vfork: the thread waits until the child has exec'd the helper, 0.74–0.85 ms a helper inside
 * the flow of containers made four at a time (timed around the call), when it is this thread
 * the rate waits on. A fork asked of the batch is a byte written and a record read.
 *
 * A pending read keeps Bun's process alive, and Bun cannot read an fd unref'd, so the control
 * channel is read only while someone waits on it: a fork under way, or a helper in use (ref'd)
 * whose exit is not known yet; the reader is cancelled in between (a record not read yet stays
 * in the socket for the next one). A spare waiting unused keeps nothing alive; whether it is
 * still there is asked of its channel when it is taken (alive()). Our end of the control
 * channel is closed once nothing can be asked of it: no more forks, and every helper done or
 * let go (its channel closed); the batch then reaps the rest without telling anyone.
 *
 * The helpers' stdout and stderr pipes are made here, their write ends passed to the batch; a
 * launch that feeds stdin spawns its own helper (undefined here: a Writable over a raw pipe is
 * not worth it for that case).
 */
export function startHelperBatch(file: string, opts: SpawnOptions, count: number): HelperBatch | undefined {
  const { std, shape, piped, width } = batchShape(opts);
  if (piped[0]) return undefined;
  const outputs = piped.slice(1);
  const stdio: StdioSlot[] = std.map((s) => (s === "inherit" ? "inherit" : "ignore"));
  const reads: number[][] = [];
  const writes: number[] = [];
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    for (let k = 0; k < count; k++) {
      const own: number[] = [];
      for (const piped of outputs) {
        if (!piped) continue;
        const [r, w] = pipeFds();
        own.push(r);
        writes.push(w);
        stdio.push(w);
      }
      reads.push(own);
      stdio.push("pipe");
    }
    stdio.push("pipe");
    const [in0, out1, err2, ...sets] = stdio as [StdioSlot, StdioSlot, StdioSlot, ...StdioSlot[]];
    proc = Bun.spawn([opts.exe ?? file, "--batch", String(count), shape], {
      stdio: [in0, out1, err2, ...sets],
      env: opts.env ?? {},
      argv0: file,
    });
  } catch (err) {
    for (const fd of reads.flat()) closeSync(fd);
    throw err;
  } finally {
    // The batch has its copies; ours would keep the readers from ever seeing EOF.
    for (const fd of writes) closeSync(fd);
  }
  proc.unref();
  const fdAt = (slot: number) => proc.stdio[slot] as unknown as number;
  const ctl = fdAt(3 + count * width);
  const slots: BatchSlot[] = reads.map((own, k) => {
    let settle: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      settle = resolve;
    });
    const sync = fdAt(3 + k * width + width - 1);
    return { pid: 0, done: false, forking: false, refd: false, closed: false, reads: own, sync, exited, settle };
  });

  let asking = true;
  let asked = 0;
  let ctlOpen = true;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const records = new BatchRecords();

  const finish = (slot: BatchSlot, code: number) => {
    if (slot.done) return;
    slot.done = true;
    slot.forking = false;
    slot.failed?.(new Error("the helper batch could not start a helper"));
    slot.settle(code);
    // Never forked: its set is nobody's.
    if (slot.pid === 0) for (const fd of [...slot.reads, slot.sync]) closeSync(fd);
  };
  const closeCtl = () => {
    if (!ctlOpen) return;
    ctlOpen = false;
    const r = reader;
    reader = undefined;
    closeAfterReader(r, ctl);
  };
  const stopAsking = () => {
    if (!asking) return;
    asking = false;
    bind("shutdown", "__errno_location");
    if (ctlOpen) libc("shutdown")(ctl, SHUT_WR);
    for (const slot of slots) if (slot.pid === 0 && !slot.forking) finish(slot, 1);
  };
  // The batch gone (or done): what it did not report ended with it.
  const ended = () => {
    for (const slot of slots) finish(slot, 1);
    closeCtl();
  };
  const pump = () => {
    if (!ctlOpen) return;
    if (!asking && slots.every((s) => s.done || (s.closed && !s.refd))) return closeCtl();
    const wanted = slots.some((s) => !s.done && (s.forking || s.refd));
    if (wanted && !reader) read();
    else if (!wanted && reader) {
      const r = reader;
      reader = undefined;
      r.cancel().catch(() => {});
    }
  };
  const helperOf = (slot: BatchSlot): HelperProcess => {
    const out: HelperStdio = {};
    let at = 0;
    if (outputs[0]) out.stdout = pipeReadable(slot.reads[at++] as number);
    if (outputs[1]) out.stderr = pipeReadable(slot.reads[at++] as number);
    const channel = fdChannel(slot.sync);
    return {
      pid: slot.pid,
      channel: {
        read: (n) => channel.read(n),
        write: (data) => channel.write(data),
        close: () => {
          slot.closed = true;
          channel.close();
          pump();
        },
      },
      exited: slot.exited,
      stdio: out,
      unref: () => {
        slot.refd = false;
        pump();
      },
      ref: () => {
        slot.refd = true;
        pump();
      },
      alive: () => !slot.done && !slot.closed && peerAlive(slot.sync),
    };
  };
  const onRecord = (type: number, k: number, value: number) => {
    const slot = slots[k];
    if (!slot) return;
    if (type === BATCH_EXITED) return finish(slot, value);
    if (type !== BATCH_STARTED || slot.done) return;
    slot.pid = value;
    slot.forking = false;
    const started = slot.started;
    slot.failed = undefined;
    started?.(helperOf(slot));
  };
  function read(): void {
    const r = Bun.file(ctl).stream().getReader();
    reader = r;
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await r.read();
          if (reader !== r) return; // cancelled here: not the batch's EOF
          if (done) return ended();
          records.push(value, onRecord);
          pump();
          if (reader !== r) return;
        }
      } catch {
        if (reader === r) ended();
      }
    })();
  }
  return {
    get left() {
      return asking ? count - asked : 0;
    },
    fork: () => {
      const slot = slots[asked];
      if (!slot || !asking || !ctlOpen) return undefined;
      asked++;
      const forked = new Promise<HelperProcess>((resolve, reject) => {
        slot.started = resolve;
        slot.failed = reject;
      });
      // Waited on until it has said the pid: a start under way keeps this process alive, as a spawn does.
      slot.forking = true;
      try {
        writeSync(ctl, "f");
      } catch (err) {
        finish(slot, 255);
        stopAsking();
        pump();
        return Promise.reject(err as Error);
      }
      if (asked === count) stopAsking();
      pump();
      return forked;
    },
    close: () => {
      stopAsking();
      pump();
    },
  };
}
