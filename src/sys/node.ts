/**
 * The Node twins of bun.ts: child_process for the helper (its extra "pipe" is a socket stream),
 * native/husk-flock.node for flock(2) (else the helper's --flock modes). Node modules are fetched when
 * first used (process.getBuiltinModule), not at load.
 */
import type { ChildProcess } from "node:child_process";
import { errnoName } from "../errors.ts";
import { BATCH_EXITED, BATCH_STARTED, BatchRecords, batchShape } from "./batch-wire.ts";
import { ChunkChannel } from "./channel.ts";
import { waitForFlock } from "./flock-wait.ts";
import type { HelperBatch, HelperProcess, HelperStdio, LockReuse, RemoveReuse, SpawnOptions } from "./index.ts";

function childProcess(): typeof import("node:child_process") {
  return process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
}

function exitCode(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    proc.on("exit", (code, signal) => {
      const os = process.getBuiltinModule("node:os") as typeof import("node:os");
      resolve(signal ? 128 + ((os.constants.signals as Record<string, number>)[signal] ?? 0) : (code ?? 1));
    });
  });
}

/** See index.ts. */
export function spawnHelper(argv: string[], opts: SpawnOptions): HelperProcess {
  const preserveFds = opts.preserveFds ?? 0;
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  const syncSlot = 3 + preserveFds;
  const [file, ...args] = argv as [string, ...string[]];
  const [i, o, e] = opts.stdio ?? ["inherit", "inherit", "inherit"];
  const proc = childProcess().spawn(opts.exe ?? file, [...args, String(syncSlot)], {
    stdio: [i, o, e, ...preserved, "pipe"],
    env: opts.env ?? {},
    argv0: file,
  });
  const socket = proc.stdio[syncSlot] as import("node:net").Socket;
  const channel = socketChannel(socket);
  const exited = exitCode(proc);
  if (proc.pid === undefined) throw new Error(`cannot start ${file}`);
  const stdio: HelperStdio = {};
  if (i === "pipe" && proc.stdin) {
    proc.stdin.on("error", () => {});
    stdio.stdin = proc.stdin;
  }
  if (o === "pipe" && proc.stdout) stdio.stdout = proc.stdout;
  if (e === "pipe" && proc.stderr) stdio.stderr = proc.stderr;
  // The output pipes too: a spare's would keep this process alive while it waits unused.
  const outputs = [proc.stdout, proc.stderr].filter((s) => s !== null) as import("node:net").Socket[];
  const unref = () => {
    proc.unref();
    for (const s of [socket, ...outputs]) keepAlive(s, false);
  };
  const ref = () => {
    proc.ref();
    for (const s of [socket, ...outputs]) keepAlive(s, true);
  };
  return { pid: proc.pid, channel, exited, stdio, unref, ref };
}

/** A socket's end as a sync channel (the same for a helper started alone or in a batch). */
function socketChannel(socket: import("node:net").Socket): ChunkChannel {
  const channel = new ChunkChannel(
    (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    () => socket.destroy(),
  );
  socket.on("data", (chunk: Buffer) => channel.push(chunk));
  socket.on("end", () => channel.end());
  socket.on("error", (err) => channel.end(err));
  return channel;
}

/**
 * See index.ts. One process (the helper's --batch mode) holds `count` helpers' stdio and sync
 * channels, sockets of this process's as spawnHelper's are, and forks a helper for each set
 * when asked: Node starts a process by fork(), ~1.4 ms of this thread for its page tables, paid
 * here once for them all. It says each one's pid as it forks it and its exit status once it
 * ends (its `exited`), and holds none of a set once its helper is forked.
 */
export function startHelperBatch(file: string, opts: SpawnOptions, count: number): HelperBatch {
  const { std, shape, piped, width } = batchShape(opts);
  const own = std.map((s) => (s === "inherit" ? "inherit" : "ignore")) as ("inherit" | "ignore")[];
  const proc = childProcess().spawn(opts.exe ?? file, ["--batch", String(count), shape], {
    stdio: [...own, ...Array.from({ length: count * width + 1 }, () => "pipe" as const)],
    env: opts.env ?? {},
    argv0: file,
  });
  proc.unref();
  const socketAt = (fd: number) => proc.stdio[fd] as import("node:net").Socket;
  const control = socketAt(3 + count * width);
  if (!control) throw new Error(`cannot start ${file} --batch`);
  control.on("error", () => {});
  interface Slot {
    handle: HelperProcess;
    /** Its set: stdio "pipe" ends, then the sync channel. */
    sockets: import("node:net").Socket[];
    pid: number;
    settle: (code: number) => void;
    started?: (h: HelperProcess) => void;
    failed?: (e: Error) => void;
    done: boolean;
    refd: boolean;
  }
  // The control socket keeps this process alive while a helper it waits for (ref'd) runs.
  const refControl = () =>
    keepAlive(
      control,
      slots.some((s) => s.refd && !s.done),
    );
  const slots: Slot[] = Array.from({ length: count }, (_, k) => {
    const sockets = Array.from({ length: width }, (_, i) => socketAt(3 + k * width + i));
    const stdio: HelperStdio = {};
    let at = 0;
    for (const [i, name] of (["stdin", "stdout", "stderr"] as const).entries()) {
      if (!piped[i]) continue;
      const s = sockets[at++] as import("node:net").Socket;
      if (name === "stdin") s.on("error", () => {});
      stdio[name] = s;
    }
    const sync = sockets[at] as import("node:net").Socket;
    // Unforked sets keep nothing alive.
    for (const s of sockets) s.unref();
    let settle: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      settle = resolve;
    });
    const slot: Slot = {
      sockets,
      pid: 0,
      settle,
      done: false,
      refd: false,
      handle: {
        get pid() {
          return slot.pid;
        },
        channel: socketChannel(sync),
        exited,
        stdio,
        unref: () => {
          slot.refd = false;
          for (const s of sockets) keepAlive(s, false);
          refControl();
        },
        ref: () => {
          slot.refd = true;
          for (const s of sockets) keepAlive(s, true);
          refControl();
        },
      },
    };
    return slot;
  });
  const finish = (slot: Slot, code: number) => {
    if (slot.done) return;
    slot.done = true;
    slot.failed?.(new Error("the helper batch could not start a helper"));
    slot.settle(code);
    // Its set, if it was never forked: nobody will use it.
    if (slot.pid === 0) for (const s of slot.sockets) s.destroy();
    refControl();
  };
  const records = new BatchRecords();
  control.on("data", (chunk: Buffer) =>
    records.push(chunk, (type, k, value) => {
      const slot = slots[k];
      if (!slot) return;
      if (type === BATCH_STARTED) {
        slot.pid = value;
        slot.started?.(slot.handle);
        slot.failed = undefined;
      } else if (type === BATCH_EXITED) finish(slot, value);
    }),
  );
  // The batch gone (killed, or done) and all it said read (its 'exit' may come before the last
  // records): a helper it did not report ended with it.
  control.once("close", () => {
    for (const slot of slots) finish(slot, 1);
  });
  let asked = 0;
  // Whether it may still be asked for a fork (its control socket not ended by either side).
  const asking = () => !control.destroyed && !control.writableEnded;
  return {
    get left() {
      return asking() ? count - asked : 0;
    },
    fork: () => {
      const slot = slots[asked];
      if (!slot || !asking()) return undefined;
      asked++;
      const forked = new Promise<HelperProcess>((resolve, reject) => {
        slot.started = resolve;
        slot.failed = reject;
      });
      // Ref'd until it has said the pid: a start under way keeps this process alive, as a spawn does.
      slot.refd = true;
      refControl();
      control.write("f");
      if (asked === count) control.end();
      return forked.finally(() => {
        slot.refd = false;
        refControl();
      });
    },
    close: () => {
      if (asking()) control.end();
    },
  };
}

/**
 * See index.ts. Node has no flock(2): the helper's --flock mode takes it on path, says "L"
 * once it holds it, and keeps it until its stdin closes (release, or this process' death).
 */
export async function lockExclusive(path: string, helper: string, reuse?: LockReuse): Promise<() => void> {
  const addon = flockAddon(helper);
  if (addon) return lockWithAddon(addon, path);
  if (reuse && !path.includes("\n")) return lockWithHolder(path, helper, reuse);
  const proc = childProcess().spawn(helper, ["--flock", path], { stdio: ["pipe", "pipe", "pipe"] });
  const exited = exitCode(proc);
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const held = await new Promise<boolean>((resolve) => {
    proc.stdout?.once("data", () => resolve(true));
    proc.once("exit", () => resolve(false));
  });
  if (!held) {
    await exited;
    throw new Error(stderr.trim() || `flock ${path}: the helper could not take the lock`);
  }
  return () => {
    proc.stdin?.end();
  };
}

/**
 * A --flocks helper: one process that takes lock after lock. Parked in the caller's LockReuse
 * between locks, unreferenced, so an idle one keeps no event loop alive; it exits when its
 * stdin closes (this process' death included), releasing what it holds.
 */
interface Holder {
  proc: ChildProcess;
  /** Resolved by the next byte the helper says ("L" held, "U" released), or rejected if it dies. */
  next(): Promise<string>;
  alive: boolean;
  /** While parked: ends it once unused for HOLDER_IDLE_MS. */
  timer?: ReturnType<typeof setTimeout>;
}

function startHolder(helper: string): Holder {
  const proc = childProcess().spawn(helper, ["--flocks"], { stdio: ["pipe", "pipe", "pipe"] });
  let said = "";
  let stderr = "";
  let waiting: { resolve: (c: string) => void; reject: (e: Error) => void } | undefined;
  const holder: Holder = {
    proc,
    alive: true,
    next: () =>
      new Promise<string>((resolve, reject) => {
        if (said.length > 0) {
          resolve(said[0] as string);
          said = said.slice(1);
        } else if (!holder.alive) reject(new Error(stderr.trim() || "the lock helper exited"));
        else waiting = { resolve, reject };
      }),
  };
  proc.stdout?.on("data", (d: Buffer) => {
    said += d.toString();
    if (waiting && said.length > 0) {
      const w = waiting;
      waiting = undefined;
      w.resolve(said[0] as string);
      said = said.slice(1);
    }
  });
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdin?.on("error", () => {});
  proc.once("exit", () => {
    holder.alive = false;
    waiting?.reject(new Error(stderr.trim() || "the lock helper exited"));
    waiting = undefined;
  });
  return holder;
}

/**
 * Whether this process waits for socket `s`. One that has closed is left alone: Node's ref and
 * unref of a socket without a handle wait for a 'connect' that never comes, a listener added
 * at each call (past ten, a warning in the caller's process). A batch's control channel and its
 * helpers' sets are ref'd and unref'd after they close.
 */
function keepAlive(s: import("node:net").Socket, on: boolean): void {
  if (s.destroyed) return;
  if (on) s.ref();
  else s.unref();
}

/** Whether this process waits for `proc`: the process handle and its stdio pipes, all of them. */
function setReferenced(proc: ChildProcess, on: boolean): void {
  if (on) proc.ref();
  else proc.unref();
  for (const s of [proc.stdin, proc.stdout, proc.stderr]) if (s) keepAlive(s as import("node:net").Socket, on);
}

/**
 * How many idle holders a LockReuse keeps: as many as it may hold locks at once when a caller
 * makes several containers at a time (each container's own lock, taken with the containers
 * directory's inside it); a holder started beyond them is a process start (~3–4 ms) per lock.
 */
const PARKED_HOLDERS = 8;
/**
 * How long a parked holder waits unused before it ends: an owner that is dropped without its
 * idle() (a Records made for one call) leaves no process behind for long.
 */
const HOLDER_IDLE_MS = 2000;

/** End a kept helper (EOF on its stdin: --flocks and --remove exit then) and wait until it has exited. */
function endChild(proc: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  setReferenced(proc, true); // waited for now: an unref'd process would let the event loop end first
  proc.stdin?.end();
  return gone;
}

/** See index.ts' releaseLocks: end the parked holders and wait until they have exited. */
export async function endHolders(reuse: LockReuse): Promise<void> {
  const parked = (reuse.idle ?? []) as Holder[];
  reuse.idle = [];
  await Promise.all(
    parked.map((h) => {
      clearTimeout(h.timer);
      return h.alive ? endChild(h.proc) : undefined;
    }),
  );
}

interface FlockAddon {
  flock(fd: number, operation: number): number;
}

/** The loaded husk-flock.node by its path (a memo of a load: the same module each time); null where it could not be loaded. */
const addons = new Map<string, FlockAddon | null>();

/**
 * native/husk-flock.node, built beside the helper: flock(2) in this process, so that a lock
 * costs no other process's round trip (~0.3–0.5 ms, twice per engine container). Without it
 * (not built, or not loadable here) locks go through the helper's --flocks process as before.
 */
function flockAddon(helper: string): FlockAddon | null {
  const file = `${helper.slice(0, helper.lastIndexOf("/"))}/husk-flock.node`;
  let addon = addons.get(file);
  if (addon === undefined) {
    try {
      const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
      const loaded = createRequire(file)(file) as Partial<FlockAddon>;
      addon = typeof loaded.flock === "function" ? (loaded as FlockAddon) : null;
    } catch {
      addon = null;
    }
    addons.set(file, addon);
  }
  return addon;
}

async function lockWithAddon(addon: FlockAddon, path: string): Promise<() => void> {
  const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  const fd = fs.openSync(path, fs.constants.O_RDONLY);
  try {
    await waitForFlock(
      (operation) => addon.flock(fd, operation),
      (code) => errnoError(code, `flock ${path}`),
    );
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    fs.closeSync(fd);
  };
}

async function lockWithHolder(path: string, helper: string, reuse: LockReuse): Promise<() => void> {
  reuse.idle ??= [];
  const parked = reuse.idle as Holder[];
  let idle: Holder | undefined;
  do idle = parked.pop();
  while (idle && !idle.alive);
  clearTimeout(idle?.timer);
  const h = idle ?? startHolder(helper);
  setReferenced(h.proc, true);
  h.proc.stdin?.write(`${path}\n`);
  let got: string;
  try {
    // A release's "U" may still be unread from the last lock: skip it.
    do got = await h.next();
    while (got === "U");
  } catch (err) {
    throw new Error(`flock ${path}: ${(err as Error).message}`);
  }
  if (got !== "L") {
    h.proc.kill();
    throw new Error(`flock ${path}: the lock helper said ${JSON.stringify(got)}`);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (!h.alive) return;
    // The list as it is now: releaseLocks may have swapped it since this lock was taken.
    reuse.idle ??= [];
    const parkedNow = reuse.idle as Holder[];
    if (parkedNow.length >= PARKED_HOLDERS) {
      h.proc.stdin?.end();
      return;
    }
    h.proc.stdin?.write("\n");
    setReferenced(h.proc, false);
    parkedNow.push(h);
    h.timer = setTimeout(() => {
      const i = parkedNow.indexOf(h);
      if (i < 0) return;
      parkedNow.splice(i, 1);
      h.proc.stdin?.end();
    }, HOLDER_IDLE_MS);
    h.timer.unref();
  };
}

/**
 * The helper's --remove process (native/remove.c): a line per path on its stdin, a line per
 * answer ("0", or the errno) in the same order. Unreferenced while it has nothing to do, and
 * ended once unused for HOLDER_IDLE_MS, as a parked lock holder is.
 */
interface Remover {
  proc: ChildProcess;
  alive: boolean;
  waiting: { resolve: () => void; reject: (err: Error) => void }[];
  timer?: ReturnType<typeof setTimeout>;
}

function startRemover(helper: string, reuse: RemoveReuse): Remover {
  const proc = childProcess().spawn(helper, ["--remove"], { stdio: ["pipe", "pipe", "ignore"] });
  const r: Remover = { proc, alive: true, waiting: [] };
  let said = "";
  proc.stdout?.on("data", (d: Buffer) => {
    said += d.toString();
    for (let nl = said.indexOf("\n"); nl >= 0; nl = said.indexOf("\n")) {
      const code = Number(said.slice(0, nl));
      said = said.slice(nl + 1);
      const w = r.waiting.shift();
      if (code === 0) w?.resolve();
      else w?.reject(errnoError(code, "remove a directory tree"));
    }
    if (r.waiting.length === 0) restRemover(r, reuse);
  });
  proc.stdin?.on("error", () => {});
  proc.once("exit", () => {
    r.alive = false;
    clearTimeout(r.timer);
    for (const w of r.waiting.splice(0)) w.reject(new Error("the remove helper exited"));
  });
  return r;
}

/** Nothing waiting: let the process exit without it, and end it if it stays unused. */
function restRemover(r: Remover, reuse: RemoveReuse): void {
  setReferenced(r.proc, false);
  clearTimeout(r.timer);
  r.timer = setTimeout(() => {
    if (reuse.remover === r) reuse.remover = undefined;
    r.proc.stdin?.end();
  }, HOLDER_IDLE_MS);
  r.timer.unref();
}

/** An errno number the helper said, named as node:fs names it (code "EACCES", …). */
function errnoError(code: number, what: string): NodeJS.ErrnoException {
  const name = errnoName(code);
  const err = new Error(`${what}: ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = -code;
  return err;
}

/** See index.ts. A path the line protocol cannot carry goes to fs.rm. */
export function removeTree(path: string, helper: string, reuse: RemoveReuse): Promise<void> {
  if (!path.startsWith("/") || path.includes("\n")) {
    const fsp = process.getBuiltinModule("node:fs/promises") as typeof import("node:fs/promises");
    return fsp.rm(path, { recursive: true, force: true });
  }
  let r = reuse.remover as Remover | undefined;
  if (!r?.alive) {
    r = startRemover(helper, reuse);
    reuse.remover = r;
  }
  const remover = r;
  clearTimeout(remover.timer);
  setReferenced(remover.proc, true);
  return new Promise<void>((resolve, reject) => {
    remover.waiting.push({ resolve, reject });
    remover.proc.stdin?.write(`${path}\n`);
  });
}

/** See index.ts' endRemover. */
export async function endRemover(reuse: RemoveReuse): Promise<void> {
  const r = reuse.remover as Remover | undefined;
  reuse.remover = undefined;
  if (!r?.alive) return;
  clearTimeout(r.timer);
  await endChild(r.proc);
}
