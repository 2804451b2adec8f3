/**
 * Runs a compiled plan through the native helper and speaks husk's side of the sync protocol
 * (drawn in sync-protocol.ts). Every read and write is asynchronous: a library caller's event
 * loop keeps running while a container is made, and many can be made at once.
 */
import { errnoMessage, errnoName, HuskError, StepError } from "../errors.ts";
import type { Plan } from "../plan/ops.ts";
import { type HelperProcess, type HelperStdio, type StdioSpec, spawnHelper, startHelperBatch } from "../sys/index.ts";
import { trace } from "../trace.ts";
import { encodeFramedPlan } from "./encode.ts";
import { helperPath } from "./path.ts";
import { keepSealedHelper, sealedHelper } from "./sealed-image.ts";
import { type HelperSpares, refillSpare, SPARES_PER_BATCH, spareFromBatch, takeSpare } from "./spares.ts";
import { decodeMessage, encodeMessage, MSG_SIZE, Msg } from "./sync-protocol.ts";

export { helperPath };

export interface LaunchOptions {
  preserveFds: number;
  /** The helper's (and so the container's) fds 0, 1, 2; default the caller's. */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  /** Called once the helper runs, with the ends of its "pipe" stdio (read them from now on). */
  onStdio?: (stdio: HelperStdio) => void;
  /**
   * The plan is only netlink ops (the host side of networking): the helper skips its sealed
   * re-exec, which protects a helper a container could see, and refuses any other op.
   */
  netlinkOnly?: boolean;
  /** Called once the helper has the whole plan, with the helper's pid. */
  onSent?: (helperPid: number) => void;
  /**
   * Once the helper has the whole plan, let it go: its channel closed and its process no longer
   * waited for (it runs the plan on its own; what came of it is not known). For what the caller
   * need not sit through: the kernel's unregistration of a deleted link. Netlink-only plans.
   */
  letGo?: boolean;
  /** The container process exists (MSG_PID): its namespaces are made. */
  onPid?: (pid: number) => void;
  /** The child waits at plan step `step` while this runs: id maps, prestart/createRuntime hooks. */
  onWaiting?: (pid: number, step: number) => void | Promise<void>;
  /** For a plan with parentNetlink: the netlink plan the helper's parent runs (see ParentNetlink). */
  parentNetlink?: ParentNetlink;
  /** The caller's spare helpers: one is taken if it fits, and another started while the container runs. */
  spares?: HelperSpares;
}

/**
 * The netlink plan the helper's parent runs once the child exists (plan op parentNetlink), from
 * the host's namespaces and beside the child's setup: the container's network, without a helper
 * process of its own. The child waits for it before its pause for the caller (in a new user
 * namespace, at its start until the plan is handed over: it reads the channel too).
 */
export interface ParentNetlink {
  /** Asked for once the child exists (its pid: /proc/<pid>/ns/net); a rejection ends the launch (the child is killed). */
  plan(pid: number): Promise<Plan>;
  /** The helper has the plan. */
  sent?(): void;
  /** How it ended, said once: nothing when it ran to its end, else why not (it failed, or was never run). */
  settled(err?: Error): void;
}

export interface Launched {
  /** The container process' pid in husk's pid namespace. */
  pid: number;
  /**
   * The helper's exit code: the container's status for `run` (Wait mode), 0 once detached; with
   * ownerLifeline, the status the helper said before its exit (MSG_EXITED).
   */
  exited: Promise<number>;
  /** The child stopped at the create/start barrier (else it has exec'd). */
  created: boolean;
  /** Its start time (field 22 of /proc/<pid>/stat), as the helper read it (MSG_STARTED); else unknown. */
  startTime?: string;
  /**
   * Once the container has exited: true when the helper said it removed every directory of the
   * plan's cgroupRemoveOnExit (MSG_EXITED), so that they need not be looked for again.
   */
  cgroupRemoved?: Promise<boolean>;
  /** A --netlink plan said it ran to its end (MSG_DONE): its exit need not be awaited. */
  done?: boolean;
  /**
   * With detach keys (a proxied terminal): true once they were typed and the helper's parent
   * became the container's monitor (MSG_DETACHED; `exited` then stays pending, unref'd), false
   * when the helper ended without that.
   */
  detached?: Promise<boolean>;
}

/** strsignal(3)'s words for the signals that end processes, so a hook's death reads as the shell says it. */
const SIGNAL_TEXT: Record<number, string> = {
  1: "SIGHUP: hangup",
  2: "SIGINT: interrupt",
  3: "SIGQUIT: quit",
  4: "SIGILL: illegal instruction",
  6: "SIGABRT: aborted",
  7: "SIGBUS: bus error",
  8: "SIGFPE: floating point exception",
  9: "SIGKILL: killed",
  11: "SIGSEGV: segmentation fault",
  13: "SIGPIPE: broken pipe",
  15: "SIGTERM: terminated",
  31: "SIGSYS: bad system call",
};

function signalText(n: number): string {
  const text = SIGNAL_TEXT[n];
  return text ? `${n} (${text})` : String(n);
}

/**
 * A failed step; `detail` is a hook's exit status (negative: the signal that killed it), or for
 * an op made of parts (netlink messages) the index of the part that failed.
 */
function stepError(plan: Plan, step: number, errno: number, detail: number): StepError {
  const s = plan[step];
  const name = errnoName(errno);
  const hookStatus =
    name === "ECHILD" && s?.op.op === "runHook"
      ? detail < 0
        ? `killed by signal ${signalText(-detail)}`
        : `exit status ${detail}`
      : undefined;
  const part = s?.parts && detail >= 0 ? (s.parts[detail] ?? `part ${detail}`) : undefined;
  return new StepError(hookStatus ?? s?.errors?.[name] ?? errnoMessage(errno), {
    what: s ? (part ? `${s.what}: ${part}` : s.what) : `plan step ${step}`,
    origin: s?.origin,
    errno: hookStatus ? undefined : name,
  });
}

/** The container process died before it was set up without reporting a step (MSG_DIED). */
function diedDuringSetup(status: number): StepError {
  const { constants } = process.getBuiltinModule("node:os") as typeof import("node:os"); // an error path: not at load
  const signal = status > 128 ? Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0] : undefined;
  const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
  // SIGSYS is a seccomp kill; SIGKILL during setup is most often the memory limit.
  const hint =
    signal === "SIGSYS"
      ? " (the seccomp profile kills a system call the setup makes)"
      : signal === "SIGKILL"
        ? " (by the OOM killer, if the memory limit is too small, or by someone)"
        : "";
  return new StepError(`the container process ${how} during setup${hint}`, { what: "create" });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * What the helper says after MSG_RUNNING, read once. Without a proxied terminal, MSG_EXITED: the
 * container's status, said before the helper's own exit (which Node learns only through its
 * --batch process, a hop later). A proxied terminal with detach keys: MSG_DETACHED when they
 * are typed (native/monitor.c), the helper living on as the container's monitor, which this
 * process must not wait for (`exited` then stays pending, unref'd).
 */
function afterRunning(plan: Plan, helper: HelperProcess): Pick<Launched, "exited" | "detached" | "cgroupRemoved"> {
  const said = helper.channel.read(MSG_SIZE).then(
    (raw) => (raw === null ? undefined : decodeMessage(raw)),
    () => undefined,
  );
  // The lifeline is let go once that word is read, or the channel has ended (the helper gone,
  // killed without a word): not at the helper's exit, which can be learnt first (Node hears it
  // from the --batch process, in the same turn as the channel's last bytes) and would drop the
  // word unread.
  void said.then(() => helper.channel.close());
  // Whichever comes first: under Node the --batch process's word on the helper's exit can come
  // before the message.
  const exited = new Promise<number>((resolve) => {
    void said.then((msg) => msg?.type === Msg.Exited && resolve(msg.a));
    void helper.exited.then(resolve);
  });
  const cgroupRemoved = said.then((msg) => msg?.type === Msg.Exited && msg.b === 1);
  if (!plan.some((s) => s.op.op === "detachKeys")) return { exited, cgroupRemoved };
  const detached = said.then((msg) => {
    if (msg?.type !== Msg.Detached) return false;
    helper.unref();
    return true;
  });
  return { exited, detached, cgroupRemoved };
}

/**
 * Run a plan. It may be a promise: the helper is started at once and the plan sent when it is
 * ready, so making the plan (a lease, say) and starting a process overlap; if the promise
 * rejects, the helper gets EOF instead and exits quietly.
 */
export async function launch(planOrPromise: Plan | Promise<Plan>, opts: LaunchOptions): Promise<Launched> {
  const argv = opts.netlinkOnly ? [helperPath(), "--netlink"] : [helperPath()];
  // The sealed copy is looked up at each start: a spare started after this launch's helper was kept starts from it.
  const spawnOptions = () => ({ preserveFds: opts.preserveFds, stdio: opts.stdio, exe: sealedHelper() });
  const spawn = () => spawnHelper(argv, spawnOptions());
  // A spare fits a launch that passes no fd of the caller's: an fd number (preserved, or as
  // stdio) names a file only at this launch, not when the spare was started.
  const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];
  const spareKey =
    opts.spares && !opts.netlinkOnly && opts.preserveFds === 0 && stdio.every((s) => typeof s === "string")
      ? stdio.join(",")
      : undefined;
  const fromBatch = (spares: HelperSpares, key: string) =>
    spareFromBatch(spares, key, () => startHelperBatch(helperPath(), spawnOptions(), SPARES_PER_BATCH));
  // No spare waiting once spares are in use (containers made faster than they keep up): one
  // forked from the batch for this shape, a write and a reply, where Node's own spawn forks its
  // whole heap (~1.4 ms of this thread); else (a first launch, no batch) spawned.
  const spare = async (spares: HelperSpares, key: string) => {
    const waiting = takeSpare(spares, key);
    if (waiting || (spares.launches ?? 0) <= 2) return waiting;
    const forked = await fromBatch(spares, key);
    forked?.ref(); // a batch's helper comes unref'd, as a spare waits: this one is in use
    return forked;
  };
  const helper: HelperProcess = (spareKey && opts.spares && (await spare(opts.spares, spareKey))) || (await spawn());
  opts.onStdio?.(helper.stdio);
  trace("runtime: launch: helper spawned");
  const { channel } = helper;
  let pid = 0;
  let startTime: string | undefined;
  let plan: Plan = [];
  let lifeline = false;
  // parentNetlink's plan, once handed to the helper's parent, until it said how it went.
  const parent = opts.parentNetlink;
  let netPlan: Plan | undefined;
  let netSettled = false;
  // An error for parent.settled, made only when it is passed on (an Error's stack costs a cold start ~0.9 ms).
  const netEnded = (err?: Error | (() => Error)) => {
    if (netSettled || !parent) return;
    netSettled = true;
    parent.settled(typeof err === "function" ? err() : err);
  };
  try {
    plan = await planOrPromise;
    await channel.write(encodeFramedPlan(plan));
    opts.onSent?.(helper.pid);
    trace("runtime: launch: plan sent");
    if (opts.letGo && opts.netlinkOnly) {
      helper.unref();
      return { pid: 0, exited: helper.exited, created: false };
    }
    for (;;) {
      const raw = await channel.read(MSG_SIZE);
      if (raw === null) break;
      const msg = decodeMessage(raw);
      switch (msg.type) {
        case Msg.Pid:
          trace("runtime: launch: child pid");
          pid = msg.a;
          if (!opts.netlinkOnly) keepSealedHelper(helper.pid);
          opts.onPid?.(pid);
          // The next container's helper, started while this one sets up and runs.
          // It makes the network namespace a container most likely wants while it waits (helper.c, --netns-ahead).
          if (spareKey && opts.spares) {
            const spares = opts.spares;
            refillSpare(spares, spareKey, async () => {
              return (await fromBatch(spares, spareKey)) ?? spawnHelper([helperPath(), "--netns-ahead"], spawnOptions());
            });
          }
          break;
        case Msg.Started:
          startTime = String((msg.b >>> 0) * 2 ** 32 + (msg.a >>> 0));
          break;
        case Msg.Waiting:
          if (plan[msg.a]?.op.op === "parentNetlink") {
            if (!parent) throw new HuskError("the plan has parentNetlink but no parentNetlink option was given");
            netPlan = await parent.plan(pid);
            await channel.write(encodeFramedPlan(netPlan));
            parent.sent?.();
            break;
          }
          await opts.onWaiting?.(pid, msg.a);
          await channel.write(encodeMessage(Msg.Continue));
          break;
        case Msg.Created:
          return { pid, exited: helper.exited, created: true, startTime };
        case Msg.Running:
          // ownerLifeline: this end stays open while the container runs (closing it kills the
          // container, as this process' death would); afterRunning closes it once the helper has
          // said what comes after MSG_RUNNING, or is gone.
          lifeline = true;
          return { pid, created: false, startTime, ...afterRunning(plan, helper) };
        case Msg.Error:
          // The parent's netlink plan failed: its op (the high half of c) and message named.
          if (netPlan && !netSettled && plan[msg.a]?.op.op === "parentNetlink")
            throw stepError(netPlan, msg.c >>> 16, msg.b, msg.c & 0xffff);
          throw stepError(plan, msg.a, msg.b, msg.c);
        case Msg.Died:
          throw diedDuringSetup(msg.a);
        case Msg.Done:
          if (netPlan && !netSettled) {
            netEnded();
            break;
          }
          return { pid, exited: helper.exited, created: false, done: true };
        default:
          throw new HuskError(`unexpected message ${msg.type} from the helper`);
      }
    }
    if (pid === 0) {
      // A plan without clone (tests, tools) runs in the helper itself: its status is the result.
      const status = await helper.exited;
      if (status !== 0) throw new HuskError(`the helper exited with status ${status} before starting the container`);
    }
    // EOF without MSG_CREATED: the helper itself went away (killed) before the barrier.
    if (plan.some((s) => s.op.op === "waitStart")) {
      throw new HuskError(`the helper exited with status ${await helper.exited} before the container was created`);
    }
    return { pid, exited: helper.exited, created: false, startTime };
  } catch (err) {
    netEnded(err as Error);
    // Kill the container process only: the helper's parent reaps it and exits (killing the
    // helper too would leave the child an orphan zombie). Closing the channel first unblocks a
    // helper still waiting for its plan or for MSG_CONTINUE.
    if (pid) killQuietly(pid);
    channel.close();
    await helper.exited;
    throw err;
  } finally {
    netEnded(() => new HuskError("the helper did not run the network plan"));
    if (!lifeline) channel.close();
  }
}
