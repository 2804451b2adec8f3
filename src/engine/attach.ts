/**
 * Attaching to a detached container (`husk attach`, `husk start -a`, Container.attach): a
 * client of its monitor's attach socket, which native/monitor.c draws. In short, frames of
 * type (1 byte), length (2 bytes, big-endian) and payload:
 *
 *   client → monitor   1 stdin · 5 resize (rows, cols) · 6 close stdin
 *   monitor → client   2 stdout · 3 stderr · 4 exit status, then the end
 *
 * Output comes as the container writes it from the moment of connecting (`logs` has what came
 * before); the log goes on meanwhile. Several clients may be attached at once. None loses
 * output: as with docker's attach, a client that reads slowly slows the container's writes
 * (the monitor stops reading its output while the client's queue is full), and one that stops
 * reading holds them until it reads again or leaves. Leaving — the detach keys written to
 * stdin, detach(), this process' exit — leaves the container running.
 */
import { closeSync, openSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import { ConflictError, HuskError } from "../errors.ts";
import { DetachKeyFilter, parseDetachKeys } from "./detach-keys.ts";
import type { ContainerRecord } from "./records.ts";
import { asyncDispose, signalName } from "./stdio.ts";

const STDIN = 1;
const STDOUT = 2;
const STDERR = 3;
const EXIT = 4;
const RESIZE = 5;
const CLOSE_STDIN = 6;
/** The largest payload the monitor takes from a client. */
const FRAME_IN = 4096;
/** Output a consumer leaves unread, per stream, beyond which the socket is no longer read (see AttachSession). */
const MAX_UNREAD = 1 << 20;

/** How to attach (Engine.attach, Container.attach). */
export interface AttachStreamOptions {
  /** Send `stdin` to the container: default true, for a container made with interactive (-i); false is docker's --no-stdin. */
  stdin?: boolean;
  /** Keys that, written to `stdin`, detach (docker's --detach-keys syntax; default "ctrl-p,ctrl-q"). */
  detachKeys?: string;
  /**
   * Start it first if it is not running (created or exited; detached, under its monitor), with
   * this attachment made before its process runs, so nothing it writes is missed (docker's start -a).
   */
  start?: boolean;
}

/** How an attachment ended: the caller detached (the container runs on), or the container exited. */
export type AttachEnd = { detached: true } | { detached: false; exitCode: number; signal?: string };

/** sun_path holds 107 bytes: a longer path is reached through its directory's fd, as the monitor binds it. */
function connect(path: string): Promise<Socket> {
  let dir = -1;
  let target = path;
  if (Buffer.byteLength(path) > 107) {
    const slash = path.lastIndexOf("/");
    dir = openSync(path.slice(0, slash), "r");
    target = `/proc/self/fd/${dir}/${path.slice(slash + 1)}`;
  }
  return new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ path: target });
    const done = () => {
      if (dir >= 0) closeSync(dir);
      dir = -1;
    };
    s.once("connect", () => {
      done();
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", (err) => {
      done();
      reject(err);
    });
  });
}

/** `data` as frames of `type`, each within what the monitor takes. */
function frames(type: number, data: Uint8Array): Buffer {
  if (data.length === 0) return Buffer.from([type, 0, 0]);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += FRAME_IN) {
    const piece = data.subarray(off, off + FRAME_IN);
    parts.push(Buffer.from([type, piece.length >> 8, piece.length & 0xff]), Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

/**
 * This process attached to a running detached container: its output as `stdout`/`stderr`
 * Readables (with a terminal, everything comes on stdout), `stdin` (with stdin) whose end() is
 * EOF for the container, `resize`, `detach`, and `ended`. `await using` detaches. Nothing is
 * dropped: while a consumer leaves more than 1 MiB of a stream unread, the socket is not read,
 * and the container's writes wait (both streams: read both, or the one read waits on the
 * other). `ended` comes once what came before the exit status is read, or on detach().
 *
 *   await using a = await engine.attach("web");
 *   a.stdout.pipe(process.stdout);
 *   const end = await a.ended;   // { detached: false, exitCode } once it exits
 */
export class AttachSession {
  readonly id: string;
  /** The container has a terminal: its output is the pty's (on stdout), and resize reaches it. */
  readonly tty: boolean;
  /** What the container reads (null without stdin). The detach keys written here detach. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the container exited (with its status) or this attachment detached. */
  readonly ended: Promise<AttachEnd>;
  readonly #socket: Socket;
  #leaving = false;

  constructor(
    id: string,
    tty: boolean,
    socket: Socket,
    stdin: boolean,
    keys: Uint8Array | undefined,
    exitOf: (frame: number | undefined) => Promise<number>,
  ) {
    this.id = id;
    this.tty = tty;
    this.#socket = socket;
    // Read again once a consumer takes what it was given (the paused socket is the back-pressure).
    const resume = () => this.#steer();
    this.stdout = new Readable({ highWaterMark: MAX_UNREAD, read: resume });
    this.stderr = new Readable({ highWaterMark: MAX_UNREAD, read: resume });
    let pending: Buffer = Buffer.alloc(0);
    let exitCode: number | undefined;
    socket.on("data", (chunk: Buffer) => {
      if (this.#leaving) return;
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let off = 0;
      while (pending.length - off >= 3) {
        const len = pending.readUInt16BE(off + 1);
        if (pending.length - off < 3 + len) break;
        const type = pending[off];
        const payload = pending.subarray(off + 3, off + 3 + len);
        off += 3 + len;
        if (type === STDOUT || type === STDERR) {
          // Past the mark, the rest of this chunk is kept all the same (at most a socket read more).
          // A stream its consumer destroyed wants no more: that holds nothing up.
          const to = type === STDOUT ? this.stdout : this.stderr;
          if (!to.destroyed) to.push(Buffer.from(payload));
        } else if (type === EXIT && len === 4) exitCode = payload.readInt32BE(0);
      }
      pending = pending.subarray(off);
      this.#steer();
    });
    socket.on("error", () => {}); // the close that follows ends it
    this.ended = new Promise<void>((resolve) => socket.once("close", () => resolve())).then(async (): Promise<AttachEnd> => {
      clearInterval(this.#held);
      this.stdout.push(null);
      this.stderr.push(null);
      if (this.#leaving && exitCode === undefined) return { detached: true };
      const code = await exitOf(exitCode);
      return { detached: false, exitCode: code, signal: signalName(code) };
    });
    const filter = keys && new DetachKeyFilter(keys);
    this.stdin = stdin
      ? new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            const { out, detach } = filter ? filter.push(chunk) : { out: chunk, detach: false };
            if (out.length > 0) this.#send(STDIN, out);
            if (detach) this.detach();
            done();
          },
          final: (done) => {
            this.#send(CLOSE_STDIN, new Uint8Array(0));
            done();
          },
        })
      : null;
  }

  /** Set while the socket waits for a consumer: it looks again now and then (see #steer). */
  #held: ReturnType<typeof setInterval> | undefined;

  /**
   * The socket is read while each stream a consumer has not destroyed holds less than
   * MAX_UNREAD (or once leaving). A Readable asks for more (read()) only once per push, a call
   * Bun can make before the pause it should undo; and Bun lets a process whose only handle is
   * a paused socket exit. So while paused a timer looks again, and holds the event loop as the
   * open socket would in Node.
   */
  #steer(): void {
    const full = (r: Readable) => !r.destroyed && r.readableLength >= MAX_UNREAD;
    if (!this.#leaving && (full(this.stdout) || full(this.stderr))) {
      this.#socket.pause();
      this.#held ??= setInterval(() => this.#steer(), 20);
      return;
    }
    clearInterval(this.#held);
    this.#held = undefined;
    this.#socket.resume();
  }

  #send(type: number, data: Uint8Array): void {
    if (this.#leaving || this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(frames(type, data));
  }

  /** The container's terminal gets this size (its programs see SIGWINCH); nothing without a terminal. */
  resize(rows: number, columns: number): void {
    if (!this.tty || !(rows > 0 && rows < 65536 && columns > 0 && columns < 65536)) return;
    this.#send(RESIZE, Uint8Array.from([rows >> 8, rows & 0xff, columns >> 8, columns & 0xff]));
  }

  /** Leave; the container runs on. `ended` resolves with { detached: true } (unless it exited first). */
  detach(): void {
    if (this.#leaving) return;
    this.#leaving = true;
    // What was written before goes first; then the monitor lets go. Read to the end (discarded:
    // see the data handler), or a paused socket would never see the monitor close it.
    this.#socket.end();
    this.#steer();
  }

  async [asyncDispose](): Promise<void> {
    this.detach();
    await this.ended.catch(() => {});
  }
}

const notRunning = (rec: ContainerRecord) =>
  new ConflictError(`cannot attach to container ${rec.name}: it is not running (start it first)`);

/** docker attach (and, with start, docker start -a): see AttachSession. */
export async function attach(h: AttachHost, ref: string, options: AttachStreamOptions = {}): Promise<AttachSession> {
  const { stdin, detachKeys, start } = options ?? {};
  for (const [k, v] of [
    ["stdin", stdin],
    ["start", start],
  ] as const)
    if (v !== undefined && typeof v !== "boolean") throw new HuskError("must be a boolean", { origin: `AttachOptions.${k}` });
  let rec = h.record(ref);
  const keys = parseDetachKeys(detachKeys, "AttachOptions.detachKeys");
  let socket: Socket | undefined;
  if (start) {
    try {
      rec = await h.start(rec.id, async () => {
        socket = await connect(h.socketPath(rec.id));
      });
    } catch (err) {
      (socket as Socket | undefined)?.destroy();
      throw err;
    }
  }
  if (!socket) {
    if (h.live(rec).status !== "running") throw notRunning(rec);
    if (!rec.detached)
      throw new ConflictError(`cannot attach to container ${rec.name}: it runs in the foreground of the process that started it`);
    try {
      socket = await connect(h.socketPath(rec.id));
    } catch (err) {
      if (h.live(h.record(rec.id)).status !== "running") throw notRunning(rec);
      throw new HuskError(`cannot attach to container ${rec.name}: its monitor's socket: ${(err as Error).message}`);
    }
  }
  const id = rec.id;
  const withStdin = stdin !== false && rec.config.openStdin === true;
  return new AttachSession(id, rec.config.tty === true, socket, withStdin, keys, async (frame) => {
    let code = frame;
    if (code === undefined) {
      // No status from the monitor: it ended (the status is in the exit file) or took no more clients.
      let live: { status: string; exitCode?: number } = { status: "exited", exitCode: -1 };
      try {
        live = h.live(h.record(id));
      } catch {}
      if (live.status === "running")
        throw new HuskError(`container ${rec.name}: its monitor closed the attachment (too many attached at once?)`);
      code = live.exitCode ?? -1;
    }
    await h.settle(id).catch(() => {});
    return code;
  });
}

/** What the engine lends this module (engine.ts). */
export interface AttachHost {
  record(ref: string): ContainerRecord;
  live(rec: ContainerRecord): { status: string; exitCode?: number };
  socketPath(id: string): string;
  /** lifecycle.ts' startDetached. */
  start(ref: string, beforeStart: () => Promise<void>): Promise<ContainerRecord>;
  /** The exit recorded and what it held released (the monitor's cleanup does it too; either may come first). */
  settle(id: string): Promise<void>;
}
