/**
 * What husk needs from its JavaScript runtime beyond `node:*`: starting the helper with a raw
 * socket at a fixed fd, flock(2), SHA-256. Bun and Node each have an implementation (bun.ts,
 * node.ts); the one for the runtime husk runs on is loaded on first use, so Node never loads
 * bun:ffi and Bun never pays for node:child_process.
 */
import type { Channel } from "./channel.ts";

/**
 * What the helper's fd 0, 1 or 2 is (and so the container's, which inherits them): the
 * caller's own ("inherit"), /dev/null ("ignore"), a pipe whose other end this process gets
 * ("pipe"), or an open fd of this process.
 */
export type StdioSpec = "inherit" | "ignore" | "pipe" | number;

/**
 * This process' ends of the helper's "pipe" stdio, as node:stream objects on both runtimes.
 * They carry back-pressure: nothing is read from a pipe ahead of its consumer beyond the
 * stream's highWaterMark, so a slow reader stalls the container's writes, not this process'
 * memory. stdin has an 'error' listener already: a container that exits without reading its
 * input is no crash of the caller's.
 */
export interface HelperStdio {
  // Inline type imports: a static one would count as loading node:stream (startup-modules).
  stdin?: import("node:stream").Writable;
  stdout?: import("node:stream").Readable;
  stderr?: import("node:stream").Readable;
}

export interface SpawnOptions {
  /** Extra fds 3 … 3+N-1 passed through unchanged. */
  preserveFds?: number;
  env?: Record<string, string>;
  /** fds 0, 1, 2; default all "inherit". */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  /** The file to execute, when it is not argv[0] (which the process is still given as its argv[0]). */
  exe?: string;
}

export interface HelperProcess {
  pid: number;
  /** Our end of the sync channel (a unix stream socket). */
  channel: Channel;
  /** Resolves with the helper's exit code (128+N when killed by signal N). */
  exited: Promise<number>;
  /** The ends of stdio asked for as "pipe". */
  stdio: HelperStdio;
  /** Let this process exit without waiting for the helper (one that became a monitor, or a spare). */
  unref(): void;
  /** Undo unref: this process waits for the helper again (a spare taken into use). */
  ref(): void;
  /**
   * Whether it is still there, where its exit is not watched while it waits (Bun's batch
   * helpers): asked when a spare is taken. Absent: `exited` says it.
   */
  alive?(): boolean;
}

type Impl = typeof import("./bun.ts") | typeof import("./node.ts");

const onBun = typeof globalThis.Bun !== "undefined";

/**
 * A module loaded on its first use and kept (a memoised read: the same module each time). An
 * `await import()` per call resolves the module again: ~0.1 ms of a container's locks and
 * removals under Bun (its profile's importModule).
 */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
const nodeImpl = once(() => import("./node.ts"));
const bunLibc = once(() => import("./bun-libc.ts"));
const fsPromises = once(() => import("node:fs/promises"));

const load: () => Promise<Impl> = once(() => (onBun ? import("./bun.ts") : import("./node.ts")));

/**
 * Start `argv` with stdin/stdout/stderr as `opts.stdio` says (default: the caller's), fds
 * 3 … 3+preserveFds-1 passed through unchanged, and a socketpair end at fd 3+preserveFds (whose
 * number is appended to argv).
 */
export async function spawnHelper(argv: string[], opts: SpawnOptions = {}): Promise<HelperProcess> {
  return (await load()).spawnHelper(argv, opts);
}

/**
 * Helpers forked on request by one process started for `count` of them (the helper's --batch
 * mode, native/batch.c), each a spare (`--netns-ahead`) of one shape: stdio given as "inherit",
 * "ignore" or "pipe", no preserved fds. Node starts a process by fork() of this whole one
 * (~1.4 ms of its thread): paid once for `count` helpers. Bun's spawn is a vfork, its thread
 * waiting until the child has exec'd (~0.8 ms a helper when containers are made four at a
 * time); Bun's batches take no stdin pipe (undefined for such a shape).
 */
export interface HelperBatch {
  /** How many more it can fork. */
  readonly left: number;
  /** The next helper, once forked (it rejects if that failed); undefined if none is left. */
  fork(): Promise<HelperProcess> | undefined;
  /** No more forks: the sets left are closed; the process ends once its helpers have. */
  close(): void;
}

export async function startHelperBatch(file: string, opts: SpawnOptions, count: number): Promise<HelperBatch | undefined> {
  const sys = await load();
  return "startHelperBatch" in sys ? sys.startHelperBatch(file, opts, count) : undefined;
}

/**
 * Where a caller keeps what lockExclusive may reuse from one lock to the next (its own object,
 * e.g. one per Records: no module-level state). Its locks wait for one another in this process
 * in a queue, so a lock freed here passes to the next waiter at once instead of at its next try
 * (Bun tries again after 1, 2, 4 … 20 ms) and, under Node, without a lock holder each. Under
 * Node, also an idle lock holder (the helper's --flocks process): a lock then costs no process
 * start (~3–4 ms under Node).
 */
export interface LockReuse {
  /** The implementation's parked lock holders (Node: --flocks helper processes). */
  idle?: unknown[];
  /** Path → the turn of the last lock asked for on it in this process (resolved when it is released). */
  turns?: Map<string, Promise<void>>;
}

/**
 * Hold flock(LOCK_EX) on path (a directory or file) until the returned function is called,
 * waiting without blocking the event loop. `helper` is the native helper, which takes the lock
 * for Node (Node has no flock); with `reuse`, locks on one path in this process take turns
 * before the flock, and Node keeps that helper for the caller's next lock.
 */
export async function lockExclusive(path: string, helper: string, reuse?: LockReuse): Promise<() => void> {
  if (!reuse) return flockExclusive(path, helper);
  reuse.turns ??= new Map();
  const turns = reuse.turns;
  const before = turns.get(path);
  let passOn!: () => void;
  const mine = new Promise<void>((resolve) => {
    passOn = resolve;
  });
  turns.set(path, mine);
  const ended = () => {
    passOn();
    if (turns.get(path) === mine) turns.delete(path);
  };
  await before;
  let unlock: () => void;
  try {
    unlock = await flockExclusive(path, helper, reuse);
  } catch (err) {
    ended();
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      unlock();
    } finally {
      ended(); // the next waiter's turn, whatever the release did
    }
  };
}

/**
 * End what `reuse` keeps between locks and wait for it (Node: its parked --flocks processes):
 * an idle() that leaves no process or fd of ours behind. A lock taken later starts afresh.
 */
export async function releaseLocks(reuse: LockReuse): Promise<void> {
  if (onBun || !reuse.idle?.length) return;
  await (await nodeImpl()).endHolders(reuse);
}

async function flockExclusive(path: string, helper: string, reuse?: LockReuse): Promise<() => void> {
  // Bun: flock through bun:ffi, without the spawning code (bun-libc.ts).
  if (onBun) return (await bunLibc()).lockExclusive(path);
  return (await nodeImpl()).lockExclusive(path, helper, reuse);
}

/** Where a caller keeps what removeTree reuses from one removal to the next (Node: a --remove process). */
export interface RemoveReuse {
  remover?: unknown;
}

/**
 * Delete the tree at `path` (absolute) and everything under it, without following symlinks;
 * resolves once it is gone (or was not there). Bun: fs.promises.rm, native, on Bun's thread
 * pool. Node: its fs.rm walks the tree in JavaScript, an event-loop turn per entry (~1.4 ms of
 * Node's one thread per removed container, measured), so the native helper's --remove process,
 * kept in `reuse`, deletes it instead (native/remove.c).
 */
export async function removeTree(path: string, helper: string, reuse: RemoveReuse): Promise<void> {
  if (onBun) return (await fsPromises()).rm(path, { recursive: true, force: true });
  return (await nodeImpl()).removeTree(path, helper, reuse);
}

/** End what `reuse` keeps for removeTree and wait for it (an idle() that leaves no process behind). */
export async function endRemover(reuse: RemoveReuse): Promise<void> {
  if (onBun || !reuse.remover) return;
  await (await nodeImpl()).endRemover(reuse);
}

/** SHA-256 of text, as hex. Synchronous: Bun's hasher is a global, Node's crypto a builtin. */
export function sha256(text: string): string {
  if (onBun) return new Bun.CryptoHasher("sha256").update(text).digest("hex");
  const crypto = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
  return crypto.createHash("sha256").update(text).digest("hex");
}
