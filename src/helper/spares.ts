/**
 * Helpers started ahead of need, for a process that makes container after container (a
 * library caller): the next container's launch takes one instead of spawning, so the spawn
 * (Node forks its whole heap: ~1.6–2.2 ms here; Bun ~0.5), the helper's own start and the
 * network namespace it makes ahead happen while this process would only wait, not on the next
 * container's path.
 *
 * Each Runtime keeps its own HelperSpares, a plain object as LockReuse is (no module-level
 * state, and the runtime's light verbs load nothing for it). Spares start only once the owner
 * has launched twice: a CLI that makes one container never pays for a helper it will not use.
 * The pool holds one spare at first and grows by one each time a launch finds it empty (several
 * containers made at once), up to MAX_SPARES. A spare is unref'd (it keeps no process alive)
 * and idles at most IDLE_MS; it is told to go by closing its channel (the helper reads EOF
 * before a plan and exits quietly), which is also what the owner's exit does to it.
 *
 * A spare comes from a batch (spareFromBatch): one process started for SPARES_PER_BATCH
 * helpers forks each when it is wanted, so that Node's fork of its whole heap is paid once
 * for them all, and Bun's vfork (its thread held until the child has exec'd) is not paid on
 * the thread at all; the pool and its counts are the same. Bun's batches take no stdin pipe:
 * such a launch's spare is spawned.
 */
import type { HelperBatch, HelperProcess } from "../sys/index.ts";

/** How long a spare waits unused before it is let go. */
const IDLE_MS = 2000;
/** The most spares kept at once: 4 containers made at a time each find one. */
export const MAX_SPARES = 4;
/**
 * How many helpers one batch is started for (one start of a process for them all; each unforked
 * one holds 2–4 fds here until it is forked or the batch is closed). 16 rather than 8: four at a
 * time, Node 161.7 -> 173.8/s and Bun 179.6 -> 187.7/s, paired; 32 rather than 16: Node
 * 185.8 -> 190.4/s, Bun 220.0 -> 222.9/s (Node's spawn of a batch forks its whole heap, ~2.7 ms).
 */
export const SPARES_PER_BATCH = 32;

interface Spare {
  /** The launch shape it was started for (stdio, argv). */
  key: string;
  helper: HelperProcess;
  gone: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** Where a Runtime keeps its spare helpers (start with {}). */
export interface HelperSpares {
  launches?: number;
  /** Spares waiting to be taken, oldest first. */
  pool?: Spare[];
  /** How many spares of a shape the pool is kept at (grows when a launch finds none). */
  want?: number;
  /** Starts of spares under way (one may start several). */
  starting?: Set<Promise<void>>;
  /** How many spares of each shape are starting. */
  startingFor?: Map<string, number>;
  /** The helper batches, one per shape (see spareFromBatch). */
  batches?: Map<string, { batch: Promise<HelperBatch | undefined>; timer: ReturnType<typeof setTimeout> | undefined }>;
}

/** A spare for a launch of this shape, ref'd again, if one waits and is alive; counts the launch. */
export function takeSpare(spares: HelperSpares, key: string): HelperProcess | undefined {
  spares.launches = (spares.launches ?? 0) + 1;
  spares.pool ??= [];
  const pool = spares.pool;
  for (const s of pool.filter((s) => s.gone || s.helper.alive?.() === false)) letGo(spares, s);
  const i = pool.findIndex((s) => s.key === key);
  if (i < 0) {
    // None to take while the pool is in use: containers are made faster than one spare keeps up with.
    if (spares.launches > 2) spares.want = Math.min(MAX_SPARES, (spares.want ?? 1) + 1);
    return undefined;
  }
  const [s] = pool.splice(i, 1) as [Spare];
  clearTimeout(s.timer);
  s.helper.ref();
  return s.helper;
}

/**
 * Start spares for the next launches of this shape, from the second launch on, until the pool
 * (with those starting) holds as many of this shape as it wants. Only spares of the launch's
 * own shape count: a caller that mixes shapes (run and exec, with and without stdin) keeps
 * spares of each. A spawn that fails leaves no spare: the next launch spawns its own.
 */
export function refillSpare(spares: HelperSpares, key: string, spawn: () => Promise<HelperProcess>): void {
  if ((spares.launches ?? 0) < 2) return;
  spares.starting ??= new Set();
  spares.startingFor ??= new Map();
  const starting = spares.starting;
  const startingFor = spares.startingFor;
  const have = () => (spares.pool ?? []).filter((s) => s.key === key && !s.gone).length + (startingFor.get(key) ?? 0);
  while (have() < (spares.want ?? 1)) {
    startingFor.set(key, (startingFor.get(key) ?? 0) + 1);
    const done = () => {
      starting.delete(started);
      startingFor.set(key, (startingFor.get(key) ?? 1) - 1);
    };
    const started: Promise<void> = spawn().then(
      (helper) => {
        done();
        helper.unref();
        const spare: Spare = { key, helper, gone: false, timer: setTimeout(() => letGo(spares, spare), IDLE_MS) };
        spare.timer.unref?.();
        void helper.exited.then(() => {
          spare.gone = true;
        });
        spares.pool ??= [];
        spares.pool.push(spare);
      },
      () => done(),
    );
    starting.add(started);
  }
}

/**
 * The next spare of this shape from the caller's batch for it (see startHelperBatch), a new
 * batch once it has none left; undefined where there is no batch for the shape. A batch
 * nobody forked from for IDLE_MS is closed (its process ends once its helpers have).
 */
export async function spareFromBatch(
  spares: HelperSpares,
  key: string,
  start: () => Promise<HelperBatch | undefined>,
): Promise<HelperProcess | undefined> {
  spares.batches ??= new Map();
  const batches = spares.batches;
  for (;;) {
    let entry = batches.get(key);
    if (!entry) {
      entry = { batch: start(), timer: undefined };
      batches.set(key, entry);
    }
    let batch: HelperBatch | undefined;
    try {
      batch = await entry.batch;
    } catch {
      // It could not start: forgotten, so that a later launch tries again; this one spawns.
      if (batches.get(key) === entry) batches.delete(key);
      return undefined;
    }
    if (!batch) return undefined;
    const forked = batch.fork();
    // Exhausted (by us or by another launch meanwhile): the next turn starts another.
    if (!forked) {
      if (batches.get(key) === entry) batches.delete(key);
      continue;
    }
    const e = entry;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      if (batches.get(key) === e) batches.delete(key);
      batch.close();
    }, IDLE_MS);
    e.timer.unref?.();
    return forked;
  }
}

/** Let every spare go (those still starting too) and wait until they have exited: none is left running, nor any fd of one open. */
export async function closeSpares(spares: HelperSpares): Promise<void> {
  while (spares.starting?.size) await Promise.all(spares.starting);
  const batches = [...(spares.batches?.values() ?? [])];
  spares.batches = new Map();
  for (const e of batches) {
    clearTimeout(e.timer);
    (await e.batch.catch(() => undefined))?.close();
  }
  const pool = spares.pool ?? [];
  spares.pool = [];
  spares.want = 1;
  for (const s of pool) {
    // Waited for now, so ref'd first: an unref'd process would let the event loop end first,
    // and a batch's helper let go unref'd is one whose exit nobody will read (bun.ts).
    s.helper.ref();
    letGo(spares, s);
  }
  await Promise.all(pool.map((s) => s.helper.exited));
}

function letGo(spares: HelperSpares, spare: Spare): void {
  const i = spares.pool?.indexOf(spare) ?? -1;
  if (i >= 0) spares.pool?.splice(i, 1);
  clearTimeout(spare.timer);
  spare.helper.channel.close();
  // Its pipes' ends here are ours: nobody will use them now.
  for (const s of [spare.helper.stdio.stdin, spare.helper.stdio.stdout, spare.helper.stdio.stderr]) s?.destroy();
}
