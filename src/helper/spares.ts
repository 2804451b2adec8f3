/**
 * A helper started ahead of need, for a process that makes container after container (a
 * library caller): the next container's launch takes it instead of spawning, so the spawn
 * (Node forks its whole heap: ~1.6–2.2 ms here; Bun ~0.5) and the helper's own start happen
 * while this process would only wait for the previous container, not on the next one's path.
 *
 * Each Runtime keeps its own HelperSpares, a plain object as LockReuse is (no module-level
 * state, and the runtime's light verbs load nothing for it). Spares start only once the owner
 * has launched twice: a CLI that makes one container never pays for a helper it will not use.
 * A spare is unref'd (it keeps no process alive) and idles at most IDLE_MS; it is told to go by
 * closing its channel (the helper reads EOF before a plan and exits quietly), which is also
 * what the owner's exit does to it.
 */
import type { HelperProcess } from "../sys/index.ts";

/** How long a spare waits unused before it is let go. */
const IDLE_MS = 2000;

interface Spare {
  /** The launch shape it was started for (stdio, argv). */
  key: string;
  helper: HelperProcess;
  gone: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** Where a Runtime keeps its spare helper (start with {}). */
export interface HelperSpares {
  launches?: number;
  spare?: Spare;
  /** A spare's spawn under way. */
  starting?: Promise<void>;
}

/** The spare for a launch of this shape, ref'd again, if one waits and is alive; counts the launch. */
export function takeSpare(spares: HelperSpares, key: string): HelperProcess | undefined {
  spares.launches = (spares.launches ?? 0) + 1;
  const s = spares.spare;
  if (!s) return undefined;
  spares.spare = undefined;
  if (s.gone || s.key !== key) {
    letGo(spares, s);
    return undefined;
  }
  clearTimeout(s.timer);
  s.helper.ref();
  return s.helper;
}

/**
 * Start a spare for the next launch of this shape, from the second launch on, unless one
 * waits or is starting. A spawn that fails leaves no spare: the next launch spawns its own.
 */
export function refillSpare(spares: HelperSpares, key: string, spawn: () => Promise<HelperProcess>): void {
  if ((spares.launches ?? 0) < 2 || spares.spare || spares.starting) return;
  spares.starting = spawn().then(
    (helper) => {
      spares.starting = undefined;
      helper.unref();
      const spare: Spare = { key, helper, gone: false, timer: setTimeout(() => letGo(spares, spare), IDLE_MS) };
      spare.timer.unref?.();
      void helper.exited.then(() => {
        spare.gone = true;
      });
      if (spares.spare) letGo(spares, spare);
      else spares.spare = spare;
    },
    () => {
      spares.starting = undefined;
    },
  );
}

/** Let the spare go (one still starting too) and wait until it has exited: none is left running, nor any fd of it open. */
export async function closeSpares(spares: HelperSpares): Promise<void> {
  await spares.starting;
  const s = spares.spare;
  if (!s) return;
  letGo(spares, s);
  s.helper.ref(); // waited for now: an unref'd process would let the event loop end first
  await s.helper.exited;
}

function letGo(spares: HelperSpares, spare: Spare): void {
  if (spares.spare === spare) spares.spare = undefined;
  clearTimeout(spare.timer);
  spare.helper.channel.close();
  // Its pipes' ends here are ours: nobody will use them now.
  for (const s of [spare.helper.stdio.stdin, spare.helper.stdio.stdout, spare.helper.stdio.stderr]) s?.destroy();
}
