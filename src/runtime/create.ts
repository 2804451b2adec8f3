/**
 * Creating a container: the part `run` and `create` share. Loads and validates the bundle,
 * makes the state directory (and exec.fifo for create), compiles the plan, runs it through
 * the helper, and while the child waits writes its id maps (the child joins its cgroup itself).
 *
 * On any failure everything made so far is undone before the error propagates: the child is
 * killed (its mount namespace, and so every container mount, dies with it), the cgroup
 * directories husk made and the state directory are removed. What husk will make is recorded
 * in the state directory before it is made, so `delete --force` can finish the job for a
 * create that was killed.
 */
import { join } from "node:path";
import type { Cgroup } from "../cgroups/cgroup.ts";
import { type Launched, launch, type ParentNetlink } from "../helper/driver.ts";
import type { HelperSpares } from "../helper/spares.ts";
import { compilePlan } from "../plan/compile.ts";
import type { Mode, MonitorParams } from "../plan/context.ts";
import type { HelperStdio, StdioSpec } from "../sys/index.ts";
import { printWarning } from "../sys/stdio.ts";
import { trace } from "../trace.ts";
import { loadBundle } from "./bundle.ts";
import {
  type ContainerCgroup,
  checkCgroupResources,
  openContainerCgroup,
  planFreshCgroup,
  removeCgroup,
  setUpCgroup,
} from "./cgroup-setup.ts";
import { runCreateHooks } from "./hooks.ts";
import { hostFacts } from "./host-facts.ts";
import { writeIdMaps } from "./idmap.ts";
import { procStat } from "./proc.ts";
import { seccompCompiler } from "./seccomp-cache.ts";
import { specToJson } from "./spec-json.ts";
import {
  type CgroupRecord,
  DEFAULT_ROOT,
  EXEC_FIFO,
  makeStateDir,
  removeStateDir,
  type SavedState,
  writeCgroupRecord,
  writePidFile,
  writeState,
} from "./state.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  root?: string;
  mode: Exclude<Mode, "exec">;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** A minimal init as PID 1 that forwards signals and reaps zombies; the program is its child. */
  init?: boolean;
  /** Whether a cgroup husk may not make is skipped (runc's --rootless); default "auto". */
  rootless?: boolean | "auto";
  preserveFds?: number;
  /** --debug: report what husk adapted from the spec. */
  debug?: boolean;
  /** --debug's stage lines. */
  onDebug?: (message: string) => void;
  /** The spec itself, instead of the bundle's config.json (a library caller's); `bundle` is then its directory. */
  spec?: unknown;
  /** Called with each warning (a cgroup shared with other processes, …); default: printed on stderr. */
  onWarning?: (message: string) => void;
  /** The container's fds 0, 1, 2 (default the caller's); the ends of "pipe"s go to onStdio. */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  onStdio?: (stdio: HelperStdio) => void;
  /** Mount this on root.path in the container's mount namespace instead of binding it (an overlay). */
  rootfsMount?: { fstype: string; source: string; data: string };
  /** A native monitor holds the container's stdout/stderr and records its exit (see native/monitor.c). */
  monitor?: MonitorParams;
  /**
   * Runs from the moment the container process has its namespaces (its pid known), beside the
   * rest of its setup; it waits for this to finish before its credentials and exec (before its
   * root switch when the spec has prestart, createRuntime or createContainer hooks: where they
   * run): e.g. give its network namespace an interface.
   */
  onNamespaces?: (pid: number) => void | Promise<void>;
  /** Bring the new network namespace's loopback up from inside the container process. */
  loopbackUp?: boolean;
  /** Called once the helper has the plan, with its pid (see the runtime's CreateOptions.onPlanSent). */
  onPlanSent?: (helperPid: number) => void;
  /** The container's network made by the helper's parent (see the runtime's CreateOptions.parentNetlink). */
  parentNetlink?: ParentNetlink;
  /** run mode with a proxied terminal: these keys typed make the helper's parent its monitor (see DetachKeys). */
  detachKeys?: DetachKeys;
  /** run mode: SIGKILL the container if this process dies (the ownerLifeline op). */
  killWithOwner?: boolean;
  /**
   * run mode, deleted once it exits (not --keep): with killWithOwner, the helper removes the
   * container's own cgroup after reaping it, off this thread, and says whether it did
   * (Launched.cgroupRemoved); cleanUp then skips it, or removes what refused.
   */
  removeCgroupOnExit?: boolean;
  /**
   * The container's cgroup cannot exist yet (the engine's ids are new random ones): where it
   * only needs device rules, the helper's parent makes it (planFreshCgroup), off this thread.
   */
  freshCgroup?: boolean;
  /** The Runtime's spare helpers (see helper/spares.ts). */
  spares?: HelperSpares;
}

/** `run -it`'s detach: the keys, and the monitor the helper's parent becomes (CreateOptions.monitor's fields). */
export interface DetachKeys {
  keys: Uint8Array;
  monitor: MonitorParams;
}

export interface CreatedContainer {
  state: SavedState;
  stateDir: string;
  launched: Launched;
  cgroup?: ContainerCgroup;
}

export async function createContainer(opts: CreateOptions): Promise<CreatedContainer> {
  const root = opts.root ?? DEFAULT_ROOT;
  const warn = opts.onWarning ?? printWarning;
  const bundle = loadBundle(opts.bundle, warn, opts.spec);
  checkCgroupResources(bundle.spec);
  trace("runtime: bundle loaded (create modules, spec checked)");
  const dir = makeStateDir(root, opts.id);
  trace("runtime: state dir");
  let made: Cgroup | undefined;
  let cgroup: ContainerCgroup | undefined;
  let launched: Launched | undefined;
  // onNamespaces, started when the pid is known: a failure waits for it, so that what it made
  // is there for the caller's cleanup to find.
  let namespaced: Promise<void> | undefined;
  try {
    made = openContainerCgroup(bundle.spec, opts.id);
    const hooks = { record: (record: CgroupRecord) => writeCgroupRecord(dir, record), warn, rootless: opts.rootless };
    // Rootless ("auto": not root of the host, a fact read once per process) is setUpCgroup's.
    const helperMakes = opts.freshCgroup && opts.rootless !== true && (opts.rootless === false || hostFacts.root);
    const fresh = helperMakes ? planFreshCgroup(made, bundle.spec, hooks) : undefined;
    if (fresh) opts.onDebug?.("cgroup: made by the helper's parent (a fresh cgroup)");
    cgroup = fresh ?? setUpCgroup(made, bundle.spec, hooks);
    trace("runtime: cgroup (record, mkdir, limits)");
    const state: SavedState = {
      ociVersion: bundle.spec.ociVersion,
      id: opts.id,
      pid: 0,
      pidStartTime: "",
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: bundle.spec.annotations,
      cgroupPaths: cgroup.paths,
      spec: bundle.spec,
    };
    const specJson = specToJson(bundle.spec);
    // Recorded before anything runs, so that hooks run meanwhile, and `state` or `list` asked
    // by others, find the container. A run without hooks is only written once it runs, with its
    // pid (as runc saves its state): cgroup.json is already there for a `delete --force` after
    // a crash in between, which kills what is in the cgroup (removeRemains in delete.ts).
    const hooked = Object.values(bundle.spec.hooks ?? {}).some((list) => list?.length);
    if (opts.mode !== "run" || hooked) writeState(dir, state, specJson);
    trace("runtime: state written (unless a run without hooks)");
    const compiled = compilePlan(bundle.spec, {
      id: opts.id,
      mode: opts.mode,
      bundle: bundle.dir,
      execFifo: join(dir, EXEC_FIFO),
      noPivot: opts.noPivot ?? false,
      noNewKeyring: opts.noNewKeyring ?? false,
      init: opts.init ?? false,
      preserveFds: opts.preserveFds ?? 0,
      consoleSocket: opts.consoleSocket,
      cgroupMount: cgroup.mountSource,
      cgroupJoin: cgroup.cgroup.joinFiles(),
      deviceFilter: cgroup.deviceFilter,
      compileSeccomp: await seccompCompiler(root, bundle.spec.linux?.seccomp),
      host: hostFacts,
      rootfsMount: opts.rootfsMount,
      monitor: opts.monitor,
      pauseForCaller: opts.onNamespaces !== undefined,
      parentNetlink: opts.parentNetlink !== undefined,
      // Loaded only when asked for: the runtime's own verbs never load the network modules.
      loopbackUp: opts.loopbackUp ? await loopbackUpMessage() : undefined,
      ownerLifeline: opts.killWithOwner,
      cgroupRemoveOnExit: opts.removeCgroupOnExit ? cgroup.cgroup.ownLeaves() : undefined,
      cgroupMake: cgroup.make,
      detachKeys: opts.detachKeys,
    });
    // Like runc, skipped syscall names and the like are debug output, not noise in every container's log.
    const debug = opts.onDebug;
    if (debug) for (const warning of compiled.warnings) debug(warning);
    for (const notice of compiled.notices) warn(notice);
    trace("runtime: plan compiled");
    debug?.(`nsexec container setup: the helper runs ${compiled.steps.length} steps for ${opts.id}`);
    launched = await launch(compiled.steps, {
      spares: opts.spares,
      preserveFds: opts.preserveFds ?? 0,
      stdio: opts.stdio,
      onStdio: opts.onStdio,
      onSent: opts.onPlanSent,
      parentNetlink: opts.parentNetlink,
      onPid: (pid) => {
        const on = opts.onNamespaces;
        if (!on) return;
        namespaced = (async () => await on(pid))();
        namespaced.catch(() => {}); // awaited at the hooks step, or below on a failure
      },
      onWaiting: async (pid, step) => {
        if (step === compiled.hooksStep) {
          await runCreateHooks(bundle.spec, { id: opts.id, pid, bundle: bundle.dir });
          await namespaced;
          return;
        }
        writeIdMaps(pid, compiled.uidMappings, compiled.gidMappings, compiled.denySetgroups);
      },
    });
    trace("runtime: helper ran the plan (spawn, clone, mounts, exec)");
    // The helper's parent leaves once the init waits at the start barrier; after that the
    // init is reparented to the caller's subreaper, with no husk process in between.
    debug?.(`child process in init(): pid ${launched.pid}`);
    if (opts.mode === "create") await launched.exited;
    debug?.(`init: closing the pipe to signal completion: ${opts.id} set up, waiting for start`);
    state.pid = launched.pid;
    state.pidStartTime = launched.startTime ?? procStat(launched.pid)?.startTime ?? "";
    writeState(dir, state, specJson);
    if (opts.pidFile) writePidFile(opts.pidFile, launched.pid);
    trace("runtime: state written (pid)");
    return { state, stateDir: dir, launched, cgroup };
  } catch (err) {
    await namespaced?.catch(() => {});
    if (launched) {
      try {
        process.kill(launched.pid, "SIGKILL");
      } catch {}
      await launched.exited;
    }
    await cleanUp(dir, made);
    throw err;
  }
}

/**
 * Remove what create made: the cgroup directories husk made (with the container's processes
 * still in them; see removeCgroup for a cgroup shared with others) and the state dir.
 * `leavesGone`: the helper said it removed the cgroup's own directories (cgroupRemoveOnExit).
 */
export async function cleanUp(dir: string, cgroup?: Cgroup, keepDefaultParent = false, leavesGone = false): Promise<void> {
  if (cgroup) await removeCgroup(cgroup, { keepDefaultParent, leavesGone });
  trace("runtime: cgroup removed");
  removeStateDir(dir);
  trace("runtime: state dir removed");
}

async function loopbackUpMessage(): Promise<Uint8Array> {
  const { LOOPBACK_INDEX, setLink } = await import("../network/netlink.ts");
  return setLink({ index: LOOPBACK_INDEX }, { up: true });
}
