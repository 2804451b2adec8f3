/**
 * A container's process as a stream-shaped handle (ContainerProcess), and the one path that
 * starts it: `Engine.spawn` and `Engine.spawnExec` hand the handle out, `run` and `exec` are
 * collectors over it. Whatever the container writes goes through node:stream Readables that
 * read its pipes only as fast as they are consumed (src/sys makes them so on Bun and Node):
 * a slow consumer stalls the container's writes, never this process' memory.
 *
 * The shape follows node:child_process (stdin/stdout/stderr streams, pid, kill) with
 * Bun.spawn's `exited` promise, plus what a container runner wants on top: output chunks or
 * lines of both streams, tagged and in the order they came, as async iterators; timeoutMs and
 * an AbortSignal that kill it and make `exited` reject with a TimeoutError or AbortError; and
 * `await using`, which kills it and waits until it is gone.
 */

// Inline type imports of node:stream: loading it costs ~1.4 ms in the CLI's `husk run`, whose
// stdio is inherited (no stream at all); feed fetches it when a stream is fed to stdin.
type Readable = import("node:stream").Readable;
type Writable = import("node:stream").Writable;

import type { HelperStdio } from "../sys/index.ts";
import { AbortError, asExecError, TimeoutError } from "./errors.ts";

export type StreamName = "stdout" | "stderr";

/** How a process ended: its status (128+N when signal N killed it, docker's convention) and that signal's name. */
export interface ExitStatus {
  exitCode: number;
  signal?: string;
}

/** A piece of output as it came, and which stream it came on. */
export interface OutputChunk {
  stream: StreamName;
  data: Buffer;
}

/** A line of output (without its "\n" or "\r\n"), and which stream it came on. */
export interface OutputLine {
  stream: StreamName;
  line: string;
}

/** What a process reads: text, bytes, any readable stream or async iterable, or "pipe" for a Writable (spawn only). */
export type StdinSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

export function signalName(code: number): string | undefined {
  if (code <= 128 || code > 128 + 64) return undefined;
  const os = process.getBuiltinModule("node:os") as typeof import("node:os");
  return Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
}

/**
 * timeoutMs and an AbortSignal, armed before the process exists: either SIGKILLs it, at once
 * or as soon as `started` names it, and `stopped` says which did.
 */
export function killOnLimit(timeoutMs: number | undefined, signal: AbortSignal | undefined) {
  let pid = 0;
  let stopped: "timeout" | "abort" | undefined;
  const kill = () => {
    if (pid > 0)
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
  };
  const stop = (why: "timeout" | "abort") => {
    stopped ??= why;
    kill();
  };
  const timer = timeoutMs !== undefined ? setTimeout(() => stop("timeout"), timeoutMs) : undefined;
  const onAbort = () => stop("abort");
  signal?.addEventListener("abort", onAbort);
  return {
    started(p: number): void {
      pid = p;
      if (stopped) kill();
    },
    get stopped() {
      return stopped;
    },
    dispose(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Write input to the process' stdin and end it; a process that exits without reading it is no error. */
async function feed(stdin: Writable, input: StdinSource): Promise<void> {
  try {
    if (typeof input === "string" || input instanceof Uint8Array) {
      await new Promise<void>((resolve) => {
        stdin.end(input, () => resolve());
        stdin.once("error", () => resolve());
      });
    } else {
      const { Readable } = process.getBuiltinModule("node:stream") as typeof import("node:stream");
      const { pipeline } = process.getBuiltinModule("node:stream/promises") as typeof import("node:stream/promises");
      await pipeline(input instanceof Readable ? input : Readable.from(input, { objectMode: false }), stdin);
    }
  } catch {
    stdin.destroy();
  }
}

/**
 * Everything a stream gives, until it ends; as `for await` would, it fails on the stream's
 * error or if the stream closes before its end. Listeners rather than `for await`: the stream's
 * async iterator (a promise and an end-of-stream watcher per turn) was ~3 % of the library's
 * thread for each `Engine.run` (Bun's profiler, 4 in flight).
 */
export function collect(stream: Readable | null): Promise<Buffer> {
  if (!stream || stream.readableEnded) return Promise.resolve(Buffer.alloc(0));
  const premature = () => Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
  if (stream.destroyed) return Promise.reject(premature());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Uint8Array) => chunks.push(Buffer.from(c)));
    stream.once("end", () => resolve(Buffer.concat(chunks)));
    stream.once("error", reject);
    stream.once("close", () => {
      if (!stream.readableEnded) reject(premature());
    });
  });
}

const gone = (s: Readable) => s.readableEnded || s.destroyed;

/** Resolves when any of the streams has data, ends, fails or closes. */
function change(streams: Readable[]): Promise<void> {
  const events = ["readable", "end", "error", "close"];
  return new Promise((resolve) => {
    const done = () => {
      for (const s of streams) for (const e of events) s.off(e, done);
      resolve();
    };
    for (const s of streams) for (const e of events) s.on(e, done);
  });
}

/** Symbol.asyncDispose where the runtime has it, else the name `await using` looks up (Node 20). */
export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for("Symbol.asyncDispose") as never);

/**
 * A process running in a container (a container's own, from Engine.spawn, or one exec'd into
 * it, from Engine.spawnExec). Iterating it gives its output chunks; `lines()` gives lines.
 *
 *   await using p = await engine.spawn("busybox", ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 1; done"]);
 *   for await (const { stream, line } of p.lines()) console.log(stream, line);
 *   const { exitCode } = await p.exited;
 */
export class ContainerProcess implements AsyncIterable<OutputChunk> {
  /** The container's id (for spawnExec, the container the process runs in). */
  readonly id: string;
  /** The process' pid as this process sees it. */
  readonly pid: number;
  /** With stdin: "pipe": write to it, end() it for EOF. null otherwise. */
  readonly stdin: Writable | null;
  /**
   * null with stdio: "inherit". Read it (or iterate the handle) before the process exits:
   * output no one has started reading by then is dropped, as node:child_process drops it.
   */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Resolves once the process has exited and what it held is released (a run's container
   * removed, unless remove: false); rejects with TimeoutError or AbortError when timeoutMs or
   * the signal killed it. It does not wait for the output to be read.
   */
  readonly exited: Promise<ExitStatus>;
  #running = true;
  #iterated = false;

  constructor(id: string, pid: number, stdio: HelperStdio, exited: Promise<ExitStatus>, ownStdin: boolean) {
    this.id = id;
    this.pid = pid;
    this.stdin = ownStdin ? (stdio.stdin ?? null) : null;
    this.stdout = stdio.stdout ?? null;
    this.stderr = stdio.stderr ?? null;
    const settled = () => {
      this.#running = false;
      // Output nobody is reading by the exit is drained and dropped, as node:child_process
      // does: its pipe ends close then, not whenever the handle is collected (Bun.file's never).
      for (const s of [this.stdout, this.stderr])
        if (s && !this.#iterated && s.readableFlowing === null && s.listenerCount("readable") === 0) s.resume();
    };
    this.exited = exited;
    // Rejections are the caller's to see through `exited` or an iterator; none goes unhandled.
    exited.then(settled, settled);
  }

  /** The same as `exited`. */
  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  /**
   * Send a signal (default SIGKILL: a container's PID 1 ignores signals it has no handler for,
   * SIGTERM included). false once the process has exited.
   */
  kill(signal: NodeJS.Signals | number = "SIGKILL"): boolean {
    if (!this.#running) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** stdout and stderr chunks as they come, until both end (no exit check). */
  async *#chunks(): AsyncGenerator<OutputChunk> {
    this.#iterated = true;
    let live = (
      [
        ["stdout", this.stdout],
        ["stderr", this.stderr],
      ] as const
    ).filter((e): e is readonly [StreamName, Readable] => e[1] !== null);
    while (live.length > 0) {
      let got = false;
      for (const [stream, s] of live) {
        // read() takes what is buffered and lets the stream refill to its highWaterMark; it
        // never pulls more, so leaving the loop early leaves nothing half-read.
        const data = s.read() as Buffer | null;
        if (data !== null) {
          got = true;
          yield { stream, data };
        }
        if (s.errored) throw s.errored;
      }
      live = live.filter(([, s]) => !gone(s));
      if (!got && live.length > 0) await change(live.map(([, s]) => s));
    }
  }

  /**
   * Output chunks of stdout and stderr in the order they came. After the last one it waits
   * for the exit, so a timeout or abort rejects here too. Leaving the loop early leaves the
   * process running (kill it, or `await using` it).
   */
  async *output(): AsyncGenerator<OutputChunk> {
    yield* this.#chunks();
    await this.exited;
  }

  /** As output(), in lines: a line is yielded once its "\n" came (the last one at the end, without). */
  async *lines(): AsyncGenerator<OutputLine> {
    const { StringDecoder } = process.getBuiltinModule("node:string_decoder") as typeof import("node:string_decoder");
    const state = { stdout: { text: "", dec: new StringDecoder("utf8") }, stderr: { text: "", dec: new StringDecoder("utf8") } };
    const line = (stream: StreamName, l: string): OutputLine => ({ stream, line: l.endsWith("\r") ? l.slice(0, -1) : l });
    for await (const { stream, data } of this.#chunks()) {
      const st = state[stream];
      const parts = (st.text + st.dec.write(data)).split("\n");
      st.text = parts.pop() ?? "";
      for (const l of parts) yield line(stream, l);
    }
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = state[stream].text + state[stream].dec.end();
      if (rest !== "") yield line(stream, rest);
    }
    await this.exited;
  }

  [Symbol.asyncIterator](): AsyncGenerator<OutputChunk> {
    return this.output();
  }

  /** `await using`: kill it if it still runs, wait until it is gone and released, close its streams. */
  async [asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    this.stdin?.destroy();
    await this.exited.catch(() => {});
    this.stdout?.destroy();
    this.stderr?.destroy();
  }
}

export interface StartProcess {
  /** The container's id. */
  id: string;
  /** For error messages: "container 0123456789ab", "exec in 0123456789ab". */
  what: string;
  input?: StdinSource | "pipe";
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Start it (Runtime.run or Runtime.exec) with these callbacks; resolves with its exit status. */
  launch(hooks: { onStdio: (s: HelperStdio) => void; onStart: (pid: number) => void }): Promise<number>;
  /** Once it exited: record and release (a run's settle and remove). */
  finish?(exitCode: number): Promise<void>;
  /** When launch failed: take back what was made for it. */
  fail?(): Promise<void>;
}

/** The one way a container's process starts: resolves once it runs, with its handle. */
export async function startProcess(o: StartProcess): Promise<ContainerProcess> {
  const limit = killOnLimit(o.timeoutMs, o.signal);
  let stdio: HelperStdio = {};
  let pid = 0;
  let started: () => void = () => {};
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const launched = o.launch({
    onStdio: (s) => {
      stdio = s;
      if (s.stdin && o.input !== undefined && o.input !== "pipe") void feed(s.stdin, o.input);
    },
    onStart: (p) => {
      pid = p;
      limit.started(p);
      started();
    },
  });
  const exited = launched.then(
    async (exitCode): Promise<ExitStatus> => {
      limit.dispose();
      await o.finish?.(exitCode);
      if (limit.stopped === "timeout") throw new TimeoutError(`${o.what} killed after ${o.timeoutMs} ms`, { containerId: o.id });
      if (limit.stopped === "abort") throw new AbortError(`${o.what} killed: aborted`, { containerId: o.id });
      return { exitCode, signal: signalName(exitCode) };
    },
    async (err): Promise<ExitStatus> => {
      limit.dispose();
      for (const s of [stdio.stdin, stdio.stdout, stdio.stderr]) s?.destroy();
      await o.fail?.();
      throw asExecError(err);
    },
  );
  // Either it starts, or launching it failed (then `exited` rejects first and so does this).
  await Promise.race([running, exited]);
  return new ContainerProcess(o.id, pid, stdio, exited, o.input === "pipe");
}

/** stdout and stderr collected and stdin fed, for a caller that only wants the end (`husk start -a`). */
export function captureStdio(input: StdinSource | undefined) {
  let out: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  let err: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  let fed: Promise<void> = Promise.resolve();
  return {
    onStdio(s: HelperStdio): void {
      out = collect(s.stdout ?? null);
      err = collect(s.stderr ?? null);
      if (s.stdin && input !== undefined) fed = feed(s.stdin, input);
      else s.stdin?.end();
    },
    /** stdout and stderr once both ended (and stdin was fed, or failed to be). */
    async done(): Promise<[Buffer, Buffer]> {
      const [o, e] = await Promise.all([out, err, fed]);
      return [o, e];
    },
  };
}
