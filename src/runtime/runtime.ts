/**
 * The OCI runtime as an object: what `husk-runtime` does, for a caller in its own process.
 * Every method owns its locking (the state directory's flock, across processes and within
 * one), reports warnings to `onWarning` rather than stderr, installs no signal handler and
 * never blocks the event loop while it waits for a container. Everything is keyed by the
 * `root` it was given: two Runtime objects with different roots share nothing.
 */
import type { LinuxResources } from "../cgroups/resources.ts";
import { ConfigError, ConflictError, HuskError, NotFoundError } from "../errors.ts";
import type { ParentNetlink } from "../helper/driver.ts";
import type { HelperSpares } from "../helper/spares.ts";
import type { Process, Spec } from "../oci/types.ts";
import type { HelperStdio, StdioSpec } from "../sys/index.ts";
import type { DetachKeys } from "./create.ts";
import { type ExecOverrides, mergeExecProcess } from "./exec-process.ts";
import { checkPreserveFds } from "./preserve-fds.ts";
import { parseSignal } from "./signals.ts";
import { DEFAULT_ROOT, listIds, readState, withStateLock } from "./state.ts";
import { containerStatus, ociState } from "./status.ts";

// What only some operations need (the plan compiler, seccomp, the helper driver, cgroup
// writers) is imported by those operations when called: `state` or `kill` from a CLI started
// per call must not pay for what `create` needs.

export type { HelperStdio, LinuxResources, StdioSpec };

export interface RuntimeOptions {
  /** Where container state lives (runc's --root). Default /run/husk. */
  root?: string;
  /** Called with each warning (a cgroup shared with other processes, a config husk adapted…). */
  onWarning?: (message: string) => void;
  /** Also report what husk adapted from the spec (skipped seccomp syscalls …) and each stage of a start. */
  debug?: boolean;
  /** Where debug lines go (default: onWarning). Stages carry runc's names (nsexec, init, setns_init) for tools that read runc's logs. */
  onDebug?: (message: string) => void;
  /**
   * A cgroup the caller may not make is skipped rather than an error (runc's --rootless):
   * "auto" (the default) when not root, or root of a user namespace (rootless podman).
   */
  rootless?: boolean | "auto";
}

/** The OCI state of a container, as `husk-runtime state` prints it. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  /** The init's pid as this process sees it; 0 once stopped. */
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export interface CreateOptions {
  /** A unix socket that receives the pty master when process.terminal is set. */
  consoleSocket?: string;
  /** A file to write the init's pid to. */
  pidFile?: string;
  /** Use MS_MOVE + chroot instead of pivot_root (for roots pivot_root refuses). */
  noPivot?: boolean;
  /** Keep the caller's session keyring instead of a new one. */
  noNewKeyring?: boolean;
  /** A minimal init as the container's PID 1 (forwards signals, reaps zombies), the program its child. */
  init?: boolean;
  /** Pass the caller's fds 3 … 3+N-1 to the container. */
  preserveFds?: number;
  /**
   * The container's stdin, stdout and stderr: the caller's ("inherit", the default), /dev/null
   * ("ignore"), a pipe whose other end `onStdio` receives ("pipe"), or an open fd.
   */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  /** Called as soon as the container's "pipe" stdio exists, with this process' ends. */
  onStdio?: (stdio: HelperStdio) => void;
  /**
   * Mount this filesystem on root.path inside the container's mount namespace instead of
   * binding root.path (the engine's overlayfs rootfs): it goes when the container goes.
   */
  rootfsMount?: { fstype: string; source: string; data: string };
  /**
   * A native monitor process (no JavaScript) as the container's parent: it writes stdout and
   * stderr as JSON lines to `log`, the exit status to `exitFile`, then execs `cleanup` (if
   * given) with `env`. Only with create: the container outlives this process.
   */
  monitor?: {
    log: string;
    exitFile: string;
    cleanup?: string[];
    env?: string[];
    /** A unix socket the monitor listens on for attachers (the engine's `husk attach`); stdin: they may type into the container. */
    attach?: { socket: string; stdin: boolean };
  };
  /**
   * Called with the container process' pid once its namespaces are made (/proc/<pid>/ns/net is
   * its network namespace), beside the rest of its setup; it waits for this before its
   * credentials and exec (before its root switch, where they run, with prestart, createRuntime
   * or createContainer hooks): attach interfaces here.
   */
  onNamespaces?: (pid: number) => void | Promise<void>;
  /** Bring the loopback of the container's new network namespace up (the container process does, no pause). */
  loopbackUp?: boolean;
  /**
   * Called once the helper has the plan, with the helper's pid: until the container process
   * exists (onNamespaces), this process only waits for it, so work done here costs the
   * container no time. In run mode the helper is the container's parent for as long as it
   * runs (its monitor once detach keys are typed): something held for the container (a lease)
   * may name it as its owner.
   */
  onPlanSent?: (helperPid: number) => void;
  /**
   * Run mode, with onNamespaces: the container's network made by the helper that makes the
   * container (its parent stays in the host's namespaces), not by a helper of the caller's: the
   * netlink steps `plan()` gives (asked for once the container process exists) run beside its
   * setup, and it waits for them before its pause for onNamespaces. `settled` hears how they went.
   * The engine's: the steps are husk's own plan ops, not a stable interface, so the published
   * declarations leave it out.
   * @internal
   */
  parentNetlink?: ParentNetlink;
  /**
   * The container's cgroup cannot exist yet (its id is a new random one): where it only needs
   * device rules, the helper makes it, off this thread. The engine's.
   * @internal
   */
  freshCgroup?: boolean;
}

export interface RunOptions extends CreateOptions {
  /** Leave the stopped container for delete instead of removing it. */
  keep?: boolean;
  /**
   * SIGKILL the container if this process dies while it runs (the helper watches a socket
   * whose other end only this process holds). Not with a foreground terminal (tty proxy).
   */
  killWithOwner?: boolean;
  /**
   * Called once the container's init exists, with its pid (e.g. to forward signals to it) and
   * its start time (field 22 of /proc/<pid>/stat, as the state file keeps it; "" if unknown).
   */
  onStart?: (pid: number, startTime: string) => void;
  /** A proxied terminal (spec process.terminal, no console socket): these keys typed detach it (`run -it`'s ^P^Q). */
  detachKeys?: DetachKeys;
  /**
   * With detachKeys: called once they were typed and the helper's parent is the container's
   * monitor (its ppid); run then resolves with 0 and leaves the container running.
   */
  onDetach?: () => Promise<void>;
}

export interface ExecOptions {
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  /** Exec into a paused container too: the process starts frozen and runs once it is resumed (runc's --ignore-paused). */
  ignorePaused?: boolean;
  /** Join sub-cgroups of the container's: "PATH" or "CONTROLLER[,CONTROLLER]:PATH" (runc's exec --cgroup). */
  subCgroups?: string[];
  /** Called once the new process exists, with its pid (the CLI forwards signals to it). */
  onStart?: (pid: number) => void;
  /** The process' fds 0, 1, 2 (default the caller's), as CreateOptions.stdio; the ends of "pipe"s go to onStdio. */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  onStdio?: (stdio: HelperStdio) => void;
  /** In the foreground: SIGKILL the process if this process dies while it runs (see RunOptions). */
  killWithOwner?: boolean;
}

/**
 * A bundle directory (config.json and its rootfs), or a spec in memory with the directory
 * its relative root.path is taken from.
 */
export type BundleSource = string | { spec: Spec | unknown; dir: string };

/** A JavaScript caller's id is checked before it names a directory. */
function checkId(id: unknown): asserts id is string {
  if (typeof id !== "string") throw new ConfigError("id", `must be a string, not ${typeof id}`);
}

/**
 * The OCI runtime: `husk-runtime`'s verbs as methods, over the containers under `root`.
 *
 * ```ts
 * const rt = new Runtime({ root: "/run/husk", onWarning: console.warn });
 * await rt.create("c1", "/path/to/bundle");   // or { spec, dir } with a spec in memory
 * await rt.start("c1");
 * (await rt.state("c1")).status;              // "running"
 * await rt.kill("c1", "SIGTERM");
 * await rt.delete("c1", { force: true });
 * ```
 */
export class Runtime {
  readonly root: string;
  readonly #warn: (message: string) => void;
  readonly #debug: boolean;
  readonly #rootless: boolean | "auto";
  readonly #onDebug: ((message: string) => void) | undefined;
  readonly #spares: HelperSpares = {};
  /** Containers this runtime has made; from the second on, husk's default parent cgroups stay (#keepsParents). */
  #made = 0;
  #parentsKept = false;

  constructor(options: RuntimeOptions = {}) {
    if (options.root !== undefined && (typeof options.root !== "string" || options.root === "")) {
      throw new HuskError("must be a non-empty string", { origin: "RuntimeOptions.root" });
    }
    this.root = options.root ?? DEFAULT_ROOT;
    this.#warn = options.onWarning ?? (() => {});
    this.#debug = options.debug ?? false;
    this.#onDebug = this.#debug ? (options.onDebug ?? ((m: string) => this.#warn(`debug: ${m}`))) : undefined;
    if (options.rootless !== undefined && options.rootless !== "auto" && typeof options.rootless !== "boolean") {
      throw new ConfigError("RuntimeOptions.rootless", 'must be true, false or "auto"');
    }
    this.#rootless = options.rootless ?? "auto";
  }

  /**
   * Resolves once nothing of this runtime's is left waiting in the background: the helpers it
   * starts ahead for its next containers, once it has made two, are let go and have exited, and
   * husk's default parent cgroups, which it keeps from its second container on, are removed if
   * no container is in them.
   */
  async idle(): Promise<void> {
    if (this.#parentsKept) {
      this.#parentsKept = false;
      (await import("./cgroup-setup.ts")).removeDefaultParents();
    }
    await (await import("../helper/spares.ts")).closeSpares(this.#spares);
  }

  /**
   * Whether a container going now leaves husk's default parent cgroups (/husk in each
   * hierarchy) in place: yes once this runtime has made two containers, as docker keeps its
   * /docker. Making and removing them in every hierarchy with each container cost it ~2 ms
   * (10 hierarchies here, 3 sets of 40 each way); a process that makes one container (the CLI)
   * still leaves no trace, and idle() removes them once no container is in them.
   */
  #keepsParents(): boolean {
    if (this.#made < 2) return false;
    this.#parentsKept = true;
    return true;
  }

  /** Create a container: its process waits at the start barrier until `start`. */
  async create(id: string, bundle: BundleSource, options: CreateOptions = {}): Promise<ContainerState> {
    const { createContainer } = await import("./create.ts");
    const created = await createContainer({ ...this.#createOptions(id, bundle, options), mode: "create" });
    return ociState(this.root, created.state, "created") as unknown as ContainerState;
  }

  /** Release a created container's process. */
  async start(id: string): Promise<void> {
    checkId(id);
    const { startContainer } = await import("./start.ts");
    await withStateLock(this.root, id, () => startContainer(this.root, id));
  }

  /**
   * Create and start a container and wait for it; resolves with its exit status (128+N when
   * killed by signal N). The container is removed afterwards unless `keep`.
   */
  async run(id: string, bundle: BundleSource, options: RunOptions = {}): Promise<number> {
    if (options.monitor) throw new HuskError("a monitor is for created containers (create, then start)", { origin: "monitor" });
    const { runContainer } = await import("./run.ts");
    return runContainer({
      ...this.#createOptions(id, bundle, options),
      keepDefaultParent: () => this.#keepsParents(),
      keep: options.keep,
      onStart: options.onStart,
      killWithOwner: options.killWithOwner === true,
      detachKeys: options.detachKeys,
      onDetach: options.onDetach,
    });
  }

  async state(id: string): Promise<ContainerState> {
    checkId(id);
    return ociState(this.root, readState(this.root, id)) as unknown as ContainerState;
  }

  /** Every container under the root; one whose state cannot be read is left out. */
  async list(): Promise<ContainerState[]> {
    return listIds(this.root).flatMap((id) => {
      try {
        return [ociState(this.root, readState(this.root, id)) as unknown as ContainerState];
      } catch {
        return [];
      }
    });
  }

  /** Signal the init (or, with `all`, every process in the container's cgroup). */
  async kill(id: string, signal: string | number = "SIGTERM", options: { all?: boolean } = {}): Promise<void> {
    checkId(id);
    const sig = typeof signal === "number" ? signal : parseSignal(signal);
    const { killContainer } = await import("./kill.ts");
    await withStateLock(this.root, id, () => killContainer(this.root, id, sig, options.all === true));
  }

  /** Remove a stopped container (with `force`, kill a live one first). A missing one is fine with `force`. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    const force = options.force === true;
    const { deleteContainer } = await import("./delete.ts");
    try {
      await withStateLock(this.root, id, () => deleteContainer(this.root, id, force, this.#warn, this.#keepsParents()));
    } catch (err) {
      // No state directory at all: nothing to remove.
      if (force && err instanceof NotFoundError) return;
      throw err;
    }
  }

  async pause(id: string): Promise<void> {
    checkId(id);
    const { pauseContainer } = await import("./pause.ts");
    await withStateLock(this.root, id, () => pauseContainer(this.root, id));
  }

  async resume(id: string): Promise<void> {
    checkId(id);
    const { resumeContainer } = await import("./pause.ts");
    await withStateLock(this.root, id, () => resumeContainer(this.root, id));
  }

  /**
   * Run a new process in a running container: argv, or the container's own process changed as
   * runc's exec flags change it (args, env, cwd, user …), or `{ process }` replacing it whole as
   * in config.json. Resolves with its exit status (0 at once when detached).
   */
  async exec(id: string, what: string[] | ExecOverrides | { process: Process }, options: ExecOptions = {}): Promise<number> {
    checkId(id);
    const st = readState(this.root, id);
    // Whatever the caller gave, the process is checked as config.json's would be.
    const { parseProcess } = await import("../oci/validate.ts");
    const proc = parseProcess(
      "process" in what ? what.process : mergeExecProcess(st.spec.process, Array.isArray(what) ? { args: what } : what),
    );
    const { execInContainer } = await import("./exec.ts");
    const preserveFds = checkPreserveFds(options.preserveFds, "preserveFds");
    return execInContainer({
      root: this.root,
      id,
      process: proc,
      ...options,
      preserveFds,
      onDebug: this.#onDebug,
      spares: this.#spares,
    });
  }

  /** Change a running container's cgroup limits. */
  async update(id: string, resources: LinuxResources): Promise<void> {
    checkId(id);
    const { updateContainer } = await import("./update.ts");
    await withStateLock(this.root, id, () => updateContainer(this.root, id, resources, this.#warn));
  }

  /** The pids of the container's processes (in its cgroup), as this process sees them. */
  async pids(id: string): Promise<number[]> {
    checkId(id);
    const st = readState(this.root, id);
    if (containerStatus(this.root, st) === "stopped") throw new ConflictError("container not running");
    const { reopenCgroup } = await import("./cgroup-setup.ts");
    return reopenCgroup(st.cgroupPaths).pids();
  }

  /**
   * The container's cgroup statistics as one runc `events` line: {"type":"stats","id","data"},
   * with exact 64-bit counters (JSON.parse would round those above 2^53).
   */
  async statsEvent(id: string): Promise<string> {
    checkId(id);
    const { statsEvent } = await import("./events.ts");
    return statsEvent(this.root, id);
  }

  /** A stats event line every `intervalMs` and an oom line per OOM kill, until the container stops. */
  async *events(id: string, intervalMs: number): AsyncGenerator<string> {
    checkId(id);
    const { eventStream } = await import("./events.ts");
    yield* eventStream(this.root, id, intervalMs);
  }

  #createOptions(id: string, bundle: BundleSource, options: CreateOptions) {
    checkId(id);
    this.#made++;
    if (typeof bundle !== "string" && (typeof bundle !== "object" || bundle === null || typeof bundle.dir !== "string")) {
      throw new ConfigError("bundle", "must be a bundle directory or { spec, dir }");
    }
    const m = options.monitor;
    return {
      stdio: options.stdio,
      onStdio: options.onStdio,
      rootfsMount: options.rootfsMount,
      monitor: m && { log: m.log, exitFile: m.exitFile, cleanup: m.cleanup ?? [], env: m.env ?? [], attach: m.attach },
      onNamespaces: options.onNamespaces,
      loopbackUp: options.loopbackUp === true,
      onPlanSent: options.onPlanSent,
      parentNetlink: options.parentNetlink,
      freshCgroup: options.freshCgroup === true,
      id,
      root: this.root,
      bundle: typeof bundle === "string" ? bundle : bundle.dir,
      spec: typeof bundle === "string" ? undefined : bundle.spec,
      consoleSocket: options.consoleSocket,
      pidFile: options.pidFile,
      noPivot: options.noPivot ?? false,
      noNewKeyring: options.noNewKeyring ?? false,
      init: options.init ?? false,
      preserveFds: checkPreserveFds(options.preserveFds, "preserveFds"),
      debug: this.#debug,
      onDebug: this.#onDebug,
      rootless: this.#rootless,
      onWarning: this.#warn,
      spares: this.#spares,
    };
  }
}
