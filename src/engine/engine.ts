/**
 * The engine: `husk run IMAGE` as a library. Images (src/image), networks (src/network),
 * volumes and the container records (this folder) around the OCI runtime core, which it calls
 * in-process (src/runtime) — never by starting husk-runtime.
 *
 * A run, in order (each thing recorded before it is made, so `remove({force})` — `husk rm -f` —
 * can take back what a killed run left):
 *
 *   check options · find the image (busybox is built on first use) · resolve user, command,
 *   network, volumes                                                  — nothing made yet
 *   record (name claimed) · overlay dirs · named volumes (copy-up) · /etc files · spec
 *   runtime create/run: the overlay is mounted in the container's own mount namespace (a plan
 *   op, so it goes with the container and never shows on the host); while the container waits
 *   with its namespaces made, eth0 is attached (veth into /proc/<pid>/ns/net, lease, ports)
 *   foreground: stdout/stderr are pipes this process reads (or the caller's own)
 *   detached: a native monitor (native/monitor.c) is the container's parent; it writes the log
 *   and exit file and then runs `husk _exited ID`, which releases what the container held
 *   exit: the runtime state and cgroup, the veth, lease and ports are released; --rm removes all
 */
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConflictError, HuskError, NotFoundError, quote } from "../errors.ts";
import type { LoginOptions } from "../image/auth.ts";
// The image modules one by one, not their index: a run loads no pull, import or save code.
import type { ImportOptions, ImportResult, ImportSource } from "../image/import.ts";
import type { ContainerConfig } from "../image/oci.ts";
import type { PullOptions, PullResult } from "../image/pull.ts";
import type { PushOptions, PushResult } from "../image/push.ts";
import { normalizeRef, parseRef } from "../image/reference.ts";
import { type OverlayRootfs, overlayData, overlayRootfs } from "../image/rootfs.ts";
import type { SaveOptions } from "../image/save.ts";
import { type ContainerImage, ImageStore, type RemoveResult } from "../image/store.ts";
import { renderHosts, writeDnsFiles } from "../network/dns.ts";
import { parentRunner } from "../network/links.ts";
import { containerNames, dnsConfig, dnsFilesOptions, HOST_NAME } from "../network/names.ts";
import { type Attachment, DEFAULT_NETWORK, Networks, type PreparedAttach, type ReserveOptions } from "../network/networks.ts";
import { type Owner, processOwner } from "../network/store.ts";
import { CAPABILITIES } from "../oci/capabilities.ts";
import type { LinuxIDMapping, LinuxSeccomp, Mount, Process } from "../oci/types.ts";
import { packageRoot } from "../package-root.ts";
import { kernelAtLeast, kernelRelease } from "../runtime/host-facts.ts";
import { isAlive, procStat } from "../runtime/proc.ts";
import { Runtime } from "../runtime/runtime.ts";
import { parseSignal } from "../runtime/signals.ts";
import { readState, stateDir } from "../runtime/state.ts";
import type { StdioSpec } from "../sys/index.ts";
import { trace } from "../trace.ts";
import type { AttachSession, AttachStreamOptions } from "./attach.ts";
import type { CommitOptions } from "./commit.ts";
import type { CopyOptions } from "./copy.ts";
import { parseDetachKeys } from "./detach-keys.ts";
import { hostDevices } from "./devices.ts";
import type { DiskUsage } from "./df.ts";
import type { Change } from "./diff.ts";
import { AbortError, asExecError, asUlimitError } from "./errors.ts";
import type { ContainerFilters } from "./filters.ts";
import { since } from "./human-time.ts";
import { hostId, shiftedLayers } from "./idmap-layers.ts";
import type { EngineInfo, VersionReport } from "./info.ts";
import { type ContainerInspect, inspectShape, type PortMapping, parsePortFilter, portMappings, stateWord } from "./inspect.ts";
import {
  type AttachedResult,
  type AttachOptions,
  checkFlag,
  created,
  type LifecycleHost,
  launchDetached,
  leaseOwner,
  monitorAlive,
  monitorOf,
  type NetworkLaunch,
  readLaunch,
  recordMonitor,
  saveLaunch,
  startAttached,
  startDetached,
  withTerminal,
} from "./lifecycle.ts";
import {
  type CheckedRunOptions,
  checkLimits,
  checkName,
  checkRunOptions,
  envList,
  type Limits,
  portAndProto,
  type RunOptions,
  stopSignalText,
} from "./options.ts";
import {
  ATTACH_SOCKET,
  type AttachmentRecord,
  type ContainerRecord,
  EXIT_FILE,
  LAUNCH_FILE,
  LOG_FILE,
  type MountRecord,
  nameInUse,
  newId,
  Records,
  randomName,
} from "./records.ts";
// options.ts loads it for every run anyway (RunOptions.restart).
import { nextDelay, parseRestartPolicy, policyWithRemoval, shouldRestart } from "./restart-policy.ts";
import { seccompFor } from "./seccomp.ts";
import { securityOptText } from "./security.ts";
import {
  buildSpec,
  capabilities,
  limitResources,
  mergeEnv,
  type NetworkNamespace,
  resolveCommand,
  volumeMounts,
} from "./spec.ts";
import type { ContainerStats, StatsOptions } from "./stats.ts";
import { asyncDispose, type ContainerProcess, collect, type StdinSource, startProcess } from "./stdio.ts";
import type { PruneOptions, PruneReport, SystemContext } from "./system.ts";
import type { TopResult } from "./top.ts";
import { readFromLayers, resolveGroups, resolveUser } from "./users.ts";
import { Volumes } from "./volumes.ts";

export const DEFAULT_DATA_ROOT = "/var/lib/husk";
export const DEFAULT_STATE_ROOT = "/run/husk";

export interface EngineOptions {
  /** Images, containers, volumes, networks (default /var/lib/husk). */
  dataRoot?: string;
  /** The runtime's container state (default /run/husk). */
  stateRoot?: string;
  /** Told about what is odd but not fatal. */
  onWarning?: (message: string) => void;
  /** The nftables table (family inet) published ports go in (default "husk"). */
  nftTable?: string;
  /** The network `network: "bridge"` means: default name "husk" on bridge husk0. */
  defaultNetwork?: { name?: string; bridge?: string; subnet?: string };
  /** The husk command a detached container's monitor runs when it exits (default this package's bin/husk). */
  huskCommand?: string;
  /** Turn the host's net.ipv4.ip_forward on when a bridge network is set up (default true, as docker). */
  ipForward?: boolean;
}

export interface RunResult<T extends string | Buffer = string | Buffer> {
  id: string;
  /** The exit status; 128+N when killed by signal N (docker's convention). */
  exitCode: number;
  /** The signal's name when the status says one ended it (128+N). */
  signal?: string;
  stdout: T;
  stderr: T;
}

/** What the record keeps of a network attachment (its ports come after, when published). */
function attachmentRecord(att: Attachment): AttachmentRecord {
  const { network, ifname, address, prefix, gateway, mac, hostVeth } = att;
  return { network, ifname, address, prefix, gateway, mac, hostVeth, ports: [] };
}

/** run's options, plus where the output goes: "pipe" (captured, the default) or the caller's own fds. */
export interface EngineRunOptions extends RunOptions {
  stdio?: "pipe" | "inherit";
  /** With stdio "inherit": the container reads the caller's stdin (docker's -i); else /dev/null. */
  interactive?: boolean;
  /**
   * With stdio "inherit": the container's stdio is a pty inside it, proxied to the caller's
   * terminal by the helper (raw mode, window size; docker's -t). TERM=xterm unless env sets it.
   */
  tty?: boolean;
  /** Called once the container's process runs, with its id and pid (e.g. to forward signals). */
  onStart?: (id: string, pid: number) => void;
  /**
   * With tty and interactive: the keys that detach (docker's --detach-keys syntax, default
   * "ctrl-p,ctrl-q"): the container runs on as a detached one (logged, its exit recorded, removed
   * then if it was to be), and the run resolves with exit code 0.
   */
  detachKeys?: string;
}

/** A detached container's options (start, create): run's, and a terminal and open stdin for attachers. */
export interface DetachedRunOptions extends RunOptions {
  /** Its stdio is a pty (docker's -t), held and logged by its monitor; TERM=xterm unless env sets it. */
  tty?: boolean;
  /** Its stdin stays open, and what attachers type reaches it (docker's -i; `husk attach`, Container.attach). */
  interactive?: boolean;
}

/** spawn's options: run's, and stdin "pipe" for a Writable the caller writes to (`p.stdin`). */
export interface SpawnOptions extends Omit<EngineRunOptions, "stdin"> {
  stdin?: StdinSource | "pipe";
}

export interface SpawnExecOptions extends Omit<ExecRunOptions, "stdin" | "output"> {
  stdin?: StdinSource | "pipe";
}

/** A finished process' output collected, as run and exec return it. */
async function collected(p: ContainerProcess, buffers: boolean): Promise<RunResult> {
  const [stdout, stderr, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  return { id: p.id, ...status, stdout: buffers ? stdout : stdout.toString(), stderr: buffers ? stderr : stderr.toString() };
}

export interface ExecRunOptions {
  env?: string[] | Record<string, string>;
  cwd?: string;
  user?: string;
  /** Leave it running; resolves at once with exitCode 0. */
  detach?: boolean;
  /** Every capability the engine may give (its bounding set), as docker exec --privileged; the container's seccomp filter stays. */
  privileged?: boolean;
  /** A terminal: the command's stdio is a pty the helper proxies to the caller's own (needs stdio "inherit"), as docker exec -t. */
  tty?: boolean;
  stdin?: RunOptions["stdin"];
  timeoutMs?: number;
  signal?: AbortSignal;
  output?: "string" | "buffer";
  stdio?: "pipe" | "inherit";
  onStart?: (pid: number) => void;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  command: string;
  created: string;
  /** created, running, exited */
  state: string;
  /** docker's words: "Up 3 seconds", "Exited (0) 2 minutes ago". */
  status: string;
  exitCode?: number;
  ports: string[];
  labels: Record<string, string>;
  /** The networks it is attached to, by name. */
  networks: string[];
  /** Its mounts as docker's ps names them: a volume's name, else the host path. */
  mounts: string[];
}

export interface LogEntry {
  stream: "stdout" | "stderr";
  time: string;
  log: string;
}

/** What the record and the kernel say of a container now. */
export interface LiveState {
  status: "created" | "running" | "exited";
  /** Running, with its processes frozen (`husk pause`). */
  paused?: boolean;
  /** Exited, and to be started again by its restart policy once the back-off has passed. */
  restarting?: boolean;
  exitCode?: number;
  signal?: number;
  finishedAt?: string;
}

/** An exit a caller saw (settle's): its status, and the process it waited for where known. */
interface KnownExit {
  exitCode: number;
  signal: number;
  pid?: number;
  startTime?: string;
}

interface Prepared {
  opts: CheckedRunOptions;
  image: ContainerImage;
  ref: string;
  argv: string[];
  entrypoint: string[];
  cmd: string[];
  user: { uid: number; gid: number; additionalGids?: number[] };
  userText: string;
  cwd: string;
  hostname: string;
  env: string[];
  name: string;
  /** husk made the name up: another one is drawn if it is taken by the time the record is made. */
  nameGenerated: boolean;
  network: {
    kind: "none" | "host" | "path" | "bridge" | "container";
    name?: string;
    path?: string;
    /** container:NAME: the container whose network namespace (and /etc files, hostname) it shares. */
    container?: ContainerRecord;
    mode: string;
  };
  volumes: { kind: "bind" | "volume"; source: string; target: string; readOnly: boolean }[];
  /** The container's capabilities and the seccomp filter made for them (none: unconfined). */
  caps: string[];
  seccomp?: LinuxSeccomp;
  /** --device: the nodes to make and the device cgroup rules allowing them. */
  devices?: ReturnType<typeof hostDevices>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The capabilities in this process' bounding set: what "all" can mean for a container it makes. */
function boundingSet(): string[] | undefined {
  try {
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (!hex) return undefined;
    const mask = BigInt(`0x${hex}`);
    return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
  } catch {
    return undefined;
  }
}

function readExitFile(path: string): { exitCode: number; signal: number; finishedAt: string } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

export class Engine {
  readonly dataRoot: string;
  readonly stateRoot: string;
  readonly images: ImageStore;
  readonly networks: Networks;
  readonly volumes: Volumes;
  readonly nftTable: string;
  readonly #records: Records;
  readonly #runtime: Runtime;
  readonly #warn: (message: string) => void;
  readonly #defaultNetwork: { name?: string; bridge?: string; subnet?: string };
  readonly #huskCommand: string | undefined;
  /**
   * This process' bounding set, read once (~0.3 ms a run): it can only shrink, and should a caller
   * drop a capability later, a container asking for it fails in the helper instead of here.
   */
  #bounding: string[] | undefined | null = null;
  #kernel: string | undefined;
  #self: { pid: number; startTime: string } | undefined;
  #selfOwner: Owner | undefined;
  /** The default seccomp profiles made so far (seccomp.ts' cachedDefault), by kernel and capabilities. */
  readonly #seccompDefaults = new Map<string, LinuxSeccomp>();
  /** An image's /etc/passwd and /etc/group as its layers have them, by layers and path (#imageFile). */
  readonly #imageFiles = new Map<string, string | undefined>();

  constructor(options: EngineOptions = {}) {
    if (typeof options !== "object" || options === null) throw new HuskError("must be an object", { origin: "EngineOptions" });
    for (const k of ["dataRoot", "stateRoot", "nftTable", "huskCommand"] as const) {
      const v = options[k];
      if (v !== undefined && (typeof v !== "string" || v === "" || (k.endsWith("Root") && !v.startsWith("/"))))
        throw new HuskError(k.endsWith("Root") ? "must be an absolute path" : "must be a non-empty string", {
          origin: `EngineOptions.${k}`,
        });
    }
    if (options.onWarning !== undefined && typeof options.onWarning !== "function")
      throw new HuskError("must be a function", { origin: "EngineOptions.onWarning" });
    this.dataRoot = options.dataRoot ?? DEFAULT_DATA_ROOT;
    this.stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
    this.nftTable = options.nftTable ?? "husk";
    this.#warn = options.onWarning ?? (() => {});
    this.images = new ImageStore(this.dataRoot, { onWarning: this.#warn });
    this.networks = new Networks({
      dataRoot: join(this.dataRoot, "networks"),
      table: this.nftTable,
      ipForward: options.ipForward,
    });
    this.volumes = new Volumes(this.dataRoot);
    this.#records = new Records(this.dataRoot);
    this.#runtime = new Runtime({ root: this.stateRoot, onWarning: this.#warn });
    this.#defaultNetwork = options.defaultNetwork ?? {};
    this.#huskCommand = options.huskCommand;
  }

  // ------------------------------------------------------------------ run, start

  /**
   * Run a container in the foreground and wait for it: stdout and stderr captured (strings, or
   * Buffers with output: "buffer"). The container is removed afterwards unless remove: false.
   * A collector over spawn.
   */
  async run(image: string, cmd: string[] = [], options: EngineRunOptions = {}): Promise<RunResult> {
    if (options?.stdin === ("pipe" as never)) throw new HuskError('"pipe" is for spawn', { origin: "RunOptions.stdin" });
    return collected(await this.spawn(image, cmd, options), options?.output === "buffer");
  }

  /**
   * Start a container in the foreground and return once its process runs, with its streams:
   * `stdout`/`stderr` Readables (and `stdin`, a Writable, with stdin: "pipe"), `exited`, `kill`,
   * output chunks or lines as async iterators, `await using`. Nothing is read ahead of the
   * consumer. timeoutMs and signal kill it; `exited` then rejects with TimeoutError or
   * AbortError. The container dies with this process (unlike start's), and is removed once it
   * exits unless remove: false.
   */
  async spawn(image: string, cmd: string[] = [], options: SpawnOptions = {}): Promise<ContainerProcess> {
    const { stdio, onStart, interactive, tty, detachKeys, ...rest } = options ?? {};
    if (stdio !== undefined && stdio !== "pipe" && stdio !== "inherit")
      throw new HuskError('must be "pipe" or "inherit"', { origin: "RunOptions.stdio" });
    if (tty !== undefined && typeof tty !== "boolean") throw new HuskError("must be a boolean", { origin: "RunOptions.tty" });
    if (tty && stdio !== "inherit")
      throw new HuskError('needs stdio "inherit" (the caller\'s terminal)', { origin: "RunOptions.tty" });
    const input = rest.stdin;
    // Only the caller's own terminal can type them.
    const keys = tty && interactive && input === undefined ? parseDetachKeys(detachKeys) : undefined;
    const opts = checkRunOptions({ ...rest, stdin: input === "pipe" ? undefined : input });
    if (opts.signal?.aborted) throw new AbortError("aborted before the container was made");
    trace("engine: spawn");
    const prepared = await this.#prepare(image, cmd, opts);
    trace("engine: prepared (image, user, options)");
    const { rec, spec, rootfsMount } = await this.#make(prepared, false);
    if (tty) withTerminal(spec);
    const id = rec.id;
    // Kept for `husk start` of it once it has exited (run without --rm); one removed once it exits never starts again.
    if (!rec.hostConfig.autoRemove) saveLaunch(this.#records, id, { spec, rootfsMount, init: prepared.opts.init });
    trace("engine: launch.json (without --rm)");
    const stdinSpec: StdioSpec =
      input !== undefined ? "pipe" : stdio === "inherit" && (interactive || tty) ? "inherit" : "ignore";
    const io: [StdioSpec, StdioSpec, StdioSpec] =
      stdio === "inherit" ? [stdinSpec, "inherit", "inherit"] : [stdinSpec, "pipe", "pipe"];
    let detached = false;
    const net = this.#network(rec, { monitorMayDetach: keys !== undefined });
    return startProcess({
      id,
      what: `container ${id.slice(0, 12)}`,
      input,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      launch: (hooks) =>
        this.#runtime
          .run(
            id,
            { spec, dir: this.#records.path(id) },
            {
              stdio: io,
              onStdio: hooks.onStdio,
              rootfsMount,
              init: prepared.opts.init,
              killWithOwner: true,
              // Its id is new (#make): no cgroup of that name can exist, unless the spec names one.
              freshCgroup: spec.linux?.cgroupsPath === undefined,
              detachKeys: keys && { keys, monitor: monitorOf(this.#host(), id, true) },
              onDetach: () => {
                detached = true;
                return this.#records.locked(id, async () => this.#detached(id));
              },
              ...net.options,
              onNamespaces: net.attach,
              onStart: (p, startTime) => {
                hooks.onStart(p);
                rec.status = "running";
                rec.pid = p;
                rec.pidStartTime = startTime;
                rec.startedAt = new Date().toISOString();
                this.#records.write(rec);
                onStart?.(id, p);
                // Now the caller only waits for the container: delete what earlier removals left.
                this.#records.sweep();
              },
            },
          )
          .catch((e) => {
            // A refused --ulimit is named as the flag, not as the rlimit the kernel refused.
            throw asUlimitError(e, opts.security.ulimits);
          })
          .finally(() => net.done()),
      finish: async (exitCode) => {
        trace("engine: exit seen");
        // Detached: its monitor records the exit and removes it (`husk _exited`).
        if (detached) return;
        await this.#records.locked(id, () =>
          this.#settle(id, { exitCode, signal: 0, pid: rec.pid, startTime: rec.pidStartTime }),
        );
        trace("engine: record removed");
        // settle removed it (autoRemove) unless it failed half way: then remove does the rest.
        if ((opts.remove ?? true) && existsSync(this.#records.path(id))) await this.remove(id, { force: true }).catch(() => {});
        trace("engine: done");
      },
      fail: () => this.#destroy(rec),
    });
  }

  /**
   * Start a container in the background and return once it runs: a native monitor holds its
   * output (the log) and records its exit; the container outlives this process.
   */
  async start(image: string, cmd: string[] = [], options: DetachedRunOptions = {}): Promise<Container> {
    const { tty, interactive, ...rest } = options ?? {};
    const terminal = checkFlag(tty, "tty");
    const openStdin = checkFlag(interactive, "interactive");
    const opts = checkRunOptions(rest);
    if (opts.stdin !== undefined) throw new HuskError("a detached container takes no stdin", { origin: "RunOptions.stdin" });
    if (opts.timeoutMs !== undefined) throw new HuskError("is for run and exec", { origin: "RunOptions.timeoutMs" });
    if (opts.signal?.aborted) throw new AbortError("aborted before the container was made");
    const prepared = await this.#prepare(image, cmd, opts);
    const { rec, spec, rootfsMount } = await this.#make(prepared, true);
    const id = rec.id;
    try {
      const launch = { spec, rootfsMount, init: prepared.opts.init };
      created(this.#host(), rec, launch, terminal, openStdin);
      // Its id is new (#make): no cgroup of that name can exist, unless the spec names one.
      await launchDetached(this.#host(), rec, launch, [], undefined, spec.linux?.cgroupsPath === undefined);
    } catch (e) {
      await this.#destroy(rec);
      throw asExecError(asUlimitError(e, opts.security.ulimits));
    }
    this.#records.sweep();
    if (opts.signal) {
      const sig = opts.signal;
      sig.addEventListener("abort", () => void this.kill(id, "SIGKILL").catch(() => {}), { once: true });
    }
    return new Container(this, id, rec.name, rec.pid);
  }

  /**
   * Make a container and leave it "created" (docker create): its record, writable layer,
   * volumes and /etc files exist; `startContainer` (or the handle's start) runs it. Not
   * removed when it exits unless remove: true.
   */
  async create(image: string, cmd: string[] = [], options: DetachedRunOptions = {}): Promise<Container> {
    const { tty, interactive, ...rest } = options ?? {};
    const terminal = checkFlag(tty, "tty");
    const openStdin = checkFlag(interactive, "interactive");
    const opts = checkRunOptions(rest);
    for (const k of ["stdin", "timeoutMs", "signal"] as const)
      if (opts[k] !== undefined) throw new HuskError("is for run", { origin: `RunOptions.${k}` });
    opts.remove ??= false;
    const prepared = await this.#prepare(image, cmd, opts);
    const { rec, spec, rootfsMount } = await this.#make(prepared, false);
    try {
      rec.creator = undefined; // made: from here on it is a created container prune may take
      created(this.#host(), rec, { spec, rootfsMount, init: prepared.opts.init }, terminal, openStdin);
    } catch (e) {
      await this.#destroy(rec);
      throw e;
    }
    return new Container(this, rec.id, rec.name, 0);
  }

  /**
   * Start a created or exited container again, with its record, writable layer, volumes and
   * /etc files (lifecycle.ts): detached under a monitor (resolves once it runs; a running one
   * is left alone), or with attach, in the foreground until it exits (as run).
   */
  startContainer(ref: string, options?: { attach?: false }): Promise<Container>;
  startContainer(ref: string, options: AttachOptions & { attach: true }): Promise<AttachedResult>;
  async startContainer(ref: string, options: AttachOptions & { attach?: boolean } = {}): Promise<Container | AttachedResult> {
    const { attach, ...rest } = options ?? {};
    if (attach) return startAttached(this.#host(), ref, rest);
    const rec = await startDetached(this.#host(), ref);
    return new Container(this, rec.id, rec.name, rec.pid);
  }

  /**
   * Start, detached, every container that is not running and matches `filters` (podman's
   * `start --all --filter`), each as startContainer does. With `restart-policy` filters this is
   * what a boot service runs (contrib/systemd/husk-restart.service: husk has no daemon to
   * restart containers after a reboot), and one whose policy is unless-stopped and that was
   * stopped by hand stays stopped, as docker leaves it when its daemon comes up. Failures are
   * collected, not thrown: one container that cannot start does not keep the others down.
   */
  async startAll(filters?: ContainerFilters): Promise<{ started: Container[]; failed: { id: string; error: Error }[] }> {
    const started: Container[] = [];
    const failed: { id: string; error: Error }[] = [];
    const byPolicy = filters?.["restart-policy"] !== undefined;
    for (const c of await this.list({ all: true, filters })) {
      if (c.state === "running" || c.state === "paused") continue;
      const rec = this.#records.read(c.id);
      if (!rec || (byPolicy && rec.hostConfig.restartPolicy?.name === "unless-stopped" && rec.stoppedByUser)) continue;
      try {
        started.push((await this.startContainer(c.id)) as Container);
      } catch (err) {
        failed.push({ id: c.id, error: err as Error });
      }
    }
    return { started, failed };
  }

  /** Stop (SIGTERM, SIGKILL after timeoutMs, default 10 s) if running, then start detached. */
  async restart(ref: string, options: { timeoutMs?: number } = {}): Promise<Container> {
    const rec = this.#records.find(ref);
    if (this.live(rec).status === "running") await this.stop(rec.id, options);
    return this.startContainer(rec.id);
  }

  /** What lifecycle.ts works through: the engine's private parts, lent per call. */
  #host(): LifecycleHost {
    return {
      dataRoot: this.dataRoot,
      stateRoot: this.stateRoot,
      nftTable: this.nftTable,
      records: this.#records,
      runtime: this.#runtime,
      networks: this.networks,
      huskCommand: this.#huskCommand ?? join(packageRoot(), "bin/husk"),
      live: (rec) => this.live(rec),
      network: (rec) => this.#network(rec, undefined),
      names: (rec, network) => this.#names(rec, network),
      writeHosts: (rec) => this.#writeHosts(rec),
      release: (rec) => this.#release(rec),
      removeRecord: (rec) => this.#removeRecord(rec, true),
      joinedNetns: (rec) => this.#joinedNetns(rec),
      settle: (id, known) => this.#settle(id, known),
    };
  }

  /**
   * Resolves once the deletions left to the background are done (a removed container's
   * writable layer and files are deleted after the caller has its result, or by a later
   * process), the helpers started ahead for the next containers have gone (Runtime.idle) and,
   * under Node, the lock holders and the deleting process kept between calls have ended: before
   * removing the data root, or to measure what is on disk.
   */
  async idle(): Promise<void> {
    await this.#runtime.idle();
    await this.#records.idle();
    await this.images.idle();
  }

  /** A handle on an existing container, by id, name or id prefix. */
  container(ref: string): Container {
    const rec = this.#records.find(ref);
    return new Container(this, rec.id, rec.name, this.live(rec).status === "running" ? rec.pid : 0);
  }

  // ------------------------------------------------------------------ preparing and making

  #boundingSet(): string[] | undefined {
    if (this.#bounding === null) this.#bounding = boundingSet();
    return this.#bounding;
  }

  /** This process as records name it (a creator, a restart's waiter): its start time never changes, read once. */
  #ownProcess(): { pid: number; startTime: string } {
    this.#self ??= { pid: process.pid, startTime: procStat(process.pid)?.startTime ?? "" };
    return { ...this.#self };
  }

  /** This process as a lease's owner (see #network): network/store.ts' processOwner, read once. */
  #leaseHolder(): Owner {
    this.#selfOwner ??= processOwner();
    return this.#selfOwner;
  }

  /**
   * A file of an image's as its layers (top first) have it, read once per Engine: an unpacked
   * layer never changes (its directory is named by its content's digest and only ever read), so
   * neither does what a list of them holds.
   */
  #imageFile(layersTop: string[], path: string): string | undefined {
    const key = `${layersTop.join("\0")}\0${path}`;
    if (!this.#imageFiles.has(key)) this.#imageFiles.set(key, readFromLayers(layersTop, path));
    return this.#imageFiles.get(key);
  }

  /** The kernel's release, read once per Engine (seccomp's profile and cache, the overlay's volatile). */
  #kernelRelease(): string {
    this.#kernel ??= kernelRelease();
    return this.#kernel;
  }

  /** The image; the built-in busybox is built on first use. */
  async #image(ref: string): Promise<ContainerImage> {
    if (typeof ref !== "string" || ref === "") throw new HuskError("must be a non-empty string", { origin: "image" });
    parseRef(ref); // a bad reference fails here, with its own message
    try {
      return await this.images.forContainer(ref);
    } catch (err) {
      const { BUSYBOX_IMAGE, ensureBusybox } = await import("../image/busybox.ts");
      if (normalizeRef(ref) !== normalizeRef(BUSYBOX_IMAGE)) {
        if (err instanceof HuskError && err.message.endsWith("no such image"))
          throw new NotFoundError(`unable to find image ${quote(ref)} locally: \`husk pull\` or \`husk import\` it first`);
        throw err;
      }
      await ensureBusybox(this.images);
      return await this.images.forContainer(ref);
    }
  }

  async #prepare(image: string, cmd: string[], opts: CheckedRunOptions): Promise<Prepared> {
    if (!Array.isArray(cmd) || cmd.some((c) => typeof c !== "string"))
      throw new HuskError("must be an array of strings", { origin: "cmd" });
    const info = await this.#image(image);
    const config = info.config ?? {};
    const command = resolveCommand(config, cmd, opts.entrypoint);
    const layersTop = info.layers.map((l) => l.dir).reverse();
    const userText = opts.user ?? config.User ?? "";
    const groupText = this.#imageFile(layersTop, "etc/group");
    const user = resolveUser(userText, this.#imageFile(layersTop, "etc/passwd"), groupText);
    if (opts.groupAdd.length > 0) {
      const gids = new Set([...(user.additionalGids ?? []), ...resolveGroups(opts.groupAdd, groupText)]);
      user.additionalGids = [...gids].filter((g) => g !== user.gid);
    }
    const network = this.#networkOf(opts.network);
    const caps = capabilities(opts, this.#boundingSet());
    const seccomp = seccompFor(opts.security.seccomp, opts.privileged, caps, {
      kernel: this.#kernelRelease(),
      cacheDir: join(this.stateRoot, "@seccomp-default"),
      defaults: this.#seccompDefaults,
    });
    for (const w of opts.security.warnings) this.#warn(w);
    const hostUts = network.kind === "host" || opts.hostNamespaces.uts;
    if (network.container && opts.hostname !== undefined)
      throw new HuskError("conflicting options: a hostname and sharing another container's network", {
        origin: "RunOptions.hostname",
      });
    // On another container's network it is that one's host too (its name, its /etc files), as docker's.
    const hostname = hostUts
      ? readFileSync("/proc/sys/kernel/hostname", "utf8").trim()
      : (network.container?.config.hostname ?? opts.hostname ?? "");
    const devices = opts.devices.length > 0 ? hostDevices(opts.devices) : undefined;
    if (opts.publishAll) opts = { ...opts, ports: publishAllPorts(opts, config, network.kind) };
    const volumes = opts.volumes.map((v) => {
      if (v.source.startsWith("/")) {
        if (!existsSync(v.source))
          throw new HuskError(`bind source path does not exist: ${v.source}`, { origin: "RunOptions.volumes" });
        return { kind: "bind" as const, source: v.source, target: v.target, readOnly: v.readOnly };
      }
      return { kind: "volume" as const, source: v.source, target: v.target, readOnly: v.readOnly };
    });
    // The image's VOLUMEs that nothing else is mounted on get anonymous volumes, as docker's.
    const taken = new Set([...volumes.map((v) => v.target), ...opts.tmpfs.map((t) => t.target)].map(trimSlashes));
    for (const target of Object.keys(config.Volumes ?? {}).map(trimSlashes))
      if (target.startsWith("/") && !taken.has(target)) {
        taken.add(target);
        volumes.push({ kind: "volume", source: "", target, readOnly: false });
      }
    if (opts.name !== undefined) {
      const other = this.#records.named(opts.name);
      if (other) throw nameInUse(opts.name, other.id);
    }
    return {
      opts,
      image: info,
      ref: image,
      argv: [command.path, ...command.args],
      entrypoint: command.entrypoint,
      cmd: command.cmd,
      user,
      userText,
      cwd: opts.cwd ?? (config.WorkingDir || "/"),
      hostname,
      env: [...(config.Env ?? []), ...opts.env],
      name: opts.name ?? randomName(),
      nameGenerated: opts.name === undefined,
      network,
      volumes,
      caps,
      seccomp,
      devices,
    };
  }

  #networkOf(mode: string): Prepared["network"] {
    if (mode === "none") return { kind: "none", mode };
    if (mode === "host") return { kind: "host", mode };
    if (mode.startsWith("ns:")) {
      const path = mode.slice(3);
      if (!path.startsWith("/") || !existsSync(path))
        throw new HuskError(`network namespace ${quote(path)} does not exist`, { origin: "RunOptions.network" });
      return { kind: "path", path, mode };
    }
    if (mode.startsWith("container:")) {
      const other = this.#records.find(mode.slice("container:".length));
      return { kind: "container", path: this.#sharedNetns(other), container: other, mode: `container:${other.id}` };
    }
    if (mode === "bridge" || mode === "default") return { kind: "bridge", name: this.#defaultName(), mode };
    this.networks.inspect(mode); // a network that does not exist fails here
    return { kind: "bridge", name: mode, mode };
  }

  /** docker's --network container:X: X's network namespace, while X runs. */
  #sharedNetns(other: ContainerRecord): string {
    if (this.live(other).status !== "running")
      throw new ConflictError(`cannot join the network of container ${other.name}: it is not running`, {
        origin: "RunOptions.network",
      });
    return `/proc/${other.pid}/ns/net`;
  }

  /** A container on another's network: that one's namespace now (it may have started again since). */
  #joinedNetns(rec: ContainerRecord): string | undefined {
    const mode = rec.hostConfig.networkMode;
    if (!mode.startsWith("container:")) return undefined;
    return this.#sharedNetns(this.#records.find(mode.slice("container:".length)));
  }

  /** Record, then make: the overlay's directories, volumes, /etc files, the spec. */
  async #make(p: Prepared, detached: boolean) {
    const id = newId();
    const hostname = p.hostname || id.slice(0, 12);
    const o = p.opts;
    // Checked before anything is made: a policy needs a container its monitor can start again.
    if (o.restart && o.restart.name !== "no") {
      if (o.remove ?? !detached) throw policyWithRemoval("RunOptions.restart");
      if (!detached)
        throw new HuskError("a restart policy is for detached containers (run -d)", { origin: "RunOptions.restart" });
    }
    const rec: ContainerRecord = {
      version: 1,
      id,
      name: p.name,
      image: p.ref,
      imageId: p.image.id,
      created: new Date().toISOString(),
      path: p.argv[0]!,
      args: p.argv.slice(1),
      config: {
        hostname,
        env: mergeEnv(p.env, hostname, []),
        cwd: p.cwd,
        user: p.userText,
        entrypoint: p.entrypoint,
        cmd: p.cmd,
        labels: { ...p.image.config?.Labels, ...o.labels },
        ...stopConfig(o.stopSignal ?? p.image.config?.StopSignal, o.stopTimeout),
      },
      hostConfig: {
        autoRemove: o.remove ?? !detached,
        ...(o.restart && o.restart.name !== "no" ? { restartPolicy: o.restart } : {}),
        networkMode: p.network.mode,
        portBindings: o.ports,
        memory: o.memory ?? 0,
        cpus: o.cpus ?? 0,
        pidsLimit: o.pidsLimit ?? 0,
        capAdd: o.capAdd,
        capDrop: o.capDrop,
        privileged: o.privileged,
        readOnly: o.readOnly,
        ...dnsConfig(o),
        securityOpt: securityOptText(o.security),
        ulimits: o.security.ulimits.map(({ name, soft, hard }) => ({ name, soft, hard })),
        uidMap: o.security.uidMap.map((m) => `${m.containerID}:${m.hostID}:${m.size}`),
        gidMap: o.security.gidMap.map((m) => `${m.containerID}:${m.hostID}:${m.size}`),
      },
      stateRoot: this.stateRoot,
      nftTable: this.nftTable,
      detached,
      status: "creating",
      creator: this.#ownProcess(),
      pid: 0,
      pidStartTime: "",
      network: p.network.kind === "bridge" ? p.network.name : undefined,
      networks: [],
      mounts: [],
    };
    await this.#records.create(rec, { nameGenerated: p.nameGenerated });
    trace("engine: record created (name claimed under lock)");
    try {
      const dir = this.#records.path(id);
      // The default network is made on first use; once made, its lease checks it (#leaseOptions' ensure).
      if (p.network.kind === "bridge" && p.network.name === this.#defaultName() && !this.networks.isMade(p.network.name))
        await this.networks.ensureNetwork({ ...this.#defaultNetwork, name: p.network.name });
      const overlay = overlayRootfs(p.image, dir, {
        volatile: rec.hostConfig.autoRemove && kernelAtLeast(5, 10, this.#kernelRelease()),
      });
      trace("engine: overlay dirs");
      const { uidMap, gidMap } = o.security;
      if (uidMap.length > 0) await this.#forUserNamespace(overlay, dir, uidMap, gidMap);
      const layersBottom = p.image.layers.map((l) => l.dir);
      const binds: { hostPath: string; target: string; readOnly: boolean }[] = [];
      for (const v of p.volumes) {
        if (v.kind === "volume") {
          const anonymous = v.source === "";
          const vol = anonymous ? await this.volumes.createAnonymous() : await this.volumes.create(v.source);
          // Recorded before the copy: a failure from here on removes it with the container.
          rec.mounts.push({
            type: "volume",
            name: vol.Name,
            source: vol.Mountpoint,
            destination: v.target,
            rw: !v.readOnly,
            ...(anonymous ? { anonymous } : {}),
          });
          await this.volumes.copyUp(vol.Name, layersBottom, v.target);
          binds.push({ hostPath: vol.Mountpoint, target: v.target, readOnly: v.readOnly });
        } else {
          rec.mounts.push({ type: "bind", source: v.source, destination: v.target, rw: !v.readOnly });
          binds.push({ hostPath: v.source, target: v.target, readOnly: v.readOnly });
        }
      }
      for (const t of o.tmpfs) rec.mounts.push({ type: "tmpfs", source: "tmpfs", destination: t.target, rw: true });
      const gateway = p.network.kind === "bridge" ? this.networks.inspect(p.network.name!).network.gateway : undefined;
      // On another container's network: that one's /etc files, bound as they are (docker's).
      const shared = p.network.container && this.#records.path(p.network.container.id, "etc");
      const dns = shared
        ? { hosts: join(shared, "hosts"), hostname: join(shared, "hostname"), resolvConf: join(shared, "resolv.conf") }
        : writeDnsFiles(join(dir, "etc"), { hostname, ...dnsFilesOptions(rec), gateway });
      if (uidMap.length > 0 && !shared) for (const f of Object.values(dns)) chownSync(f, hostId(uidMap, 0), hostId(gidMap, 0));
      trace("engine: /etc files");
      const netns: NetworkNamespace =
        p.network.kind === "host"
          ? { kind: "host" }
          : p.network.kind === "path" || p.network.kind === "container"
            ? { kind: "path", path: p.network.path! }
            : { kind: "new" };
      const spec = buildSpec({
        id,
        image: p.image.config ?? {},
        argv: p.argv,
        env: rec.config.env,
        cwd: p.cwd,
        user: p.user,
        hostname,
        rootfs: overlay.target,
        dnsFiles: dns,
        mounts: volumeMounts(binds, o.tmpfs) as Mount[],
        network: netns,
        opts: o,
        available: this.#boundingSet(),
        seccomp: p.seccomp,
        devices: p.devices,
        noNewPrivileges: o.security.noNewPrivileges,
        rlimits: o.security.ulimits.map(({ type, soft, hard }) => ({ type, soft, hard })),
        ...(uidMap.length > 0 ? { idMaps: { uid: uidMap, gid: gidMap } } : {}),
      });
      trace("engine: spec");
      // The mounts are all the record gained since it was first written.
      if (rec.mounts.length > 0) this.#records.write(rec);
      trace("engine: record written (with mounts)");
      return { rec, spec, rootfsMount: { fstype: "overlay", source: "overlay", data: overlay.data } };
    } catch (err) {
      await this.#destroy(rec);
      throw err;
    }
  }

  /**
   * A user namespace's root must own its upper and work directories and see the image's files
   * as their owners (idmap-layers.ts: copies with shifted ids), and reach them: the data and
   * state roots get o+x (traverse only, as containers/storage's 0711 for user namespaces).
   */
  async #forUserNamespace(overlay: OverlayRootfs, dir: string, uid: LinuxIDMapping[], gid: LinuxIDMapping[]): Promise<void> {
    // The state root too: the container's root opens exec.fifo there (the runtime makes it 0711).
    for (const root of [this.dataRoot, this.stateRoot]) {
      mkdirSync(root, { recursive: true, mode: 0o711 });
      const mode = statSync(root).mode;
      if (!(mode & 0o001)) chmodSync(root, (mode & 0o7777) | 0o001);
    }
    const lowerdirs = await shiftedLayers(overlay.lowerdirs, join(dir, "layers"), uid, gid);
    for (const d of [overlay.upperdir, overlay.workdir]) chownSync(d, hostId(uid, 0), hostId(gid, 0));
    overlay.lowerdirs = lowerdirs;
    overlay.data = overlayData(lowerdirs, overlay.upperdir, overlay.workdir, { volatile: overlay.volatile });
  }

  /**
   * How a container about to be made (run, run -d, start) gets its first network. --network
   * none: its loopback brought up by its own process, with no stop for this one. A bridge
   * network: its veth made by the parent of the container's helper (parentNetlink), no helper
   * process of the attach's; and in a foreground run (`foreground`: the helper is the
   * container's parent) the lease and the interface's messages made while it clones
   * (onPlanSent), so that at onNamespaces only the veth is left. Its owner is whoever gives it
   * back: this process, which settles the run (and whose death kills the container), or, where
   * ^P^Q can make the helper the container's monitor, that helper. Not the helper otherwise: it
   * exits with the container, before this process gives the lease back, and a lease whose owner
   * is gone is reclaimed by the next attach under the networks' lock, its veth deleted there;
   * four containers at once on a bridge network went at a quarter of their rate that way. A
   * detached start's helper gives way to its monitor, another process: the lease is taken at
   * onNamespaces, owned by that monitor (the container's parent). Other modes (host,
   * container:, ns:) need nothing here. `done` after the launch, whatever its end: a lease no
   * attach used is given back.
   */
  #network(rec: ContainerRecord, foreground: { monitorMayDetach: boolean } | undefined): NetworkLaunch {
    if (rec.hostConfig.networkMode === "none") return { options: { loopbackUp: true }, done: () => {} };
    if (!rec.network) return { options: {}, done: () => {} };
    let prepared: PreparedAttach | undefined;
    const viaHelper = parentRunner();
    const onPlanSent = (helper: number) => {
      prepared = this.networks.prepareAttach(viaHelper.runner);
      prepared.reserve(this.#leaseOptions(rec, foreground?.monitorMayDetach ? leaseOwner(helper) : this.#leaseHolder()));
    };
    return {
      options: { ...(foreground ? { onPlanSent } : {}), parentNetlink: viaHelper.parent },
      attach: (pid) => {
        const reserved = prepared !== undefined;
        prepared ??= this.networks.prepareAttach(viaHelper.runner);
        // A detached container's parent is its monitor, which lives on (as `husk _exited`, the
        // same process) until it has given the lease back: the owner that outlives the init.
        const owner = reserved ? undefined : leaseOwner(procStat(pid)?.ppid || pid);
        const attached = this.#attach(rec, pid, prepared, owner);
        // The helper waits for the plan: told if none will come (or one never ran).
        attached.then(
          () => viaHelper.fail(new HuskError("the attach made no network plan")),
          (err: Error) => viaHelper.fail(err),
        );
        return attached;
      },
      done: () => prepared?.cancel(),
    };
  }

  /** While the container waits with its namespaces made: its network (`owner`: for a lease not reserved yet). */
  async #attach(rec: ContainerRecord, pid: number, prepared: PreparedAttach, owner?: Owner): Promise<void> {
    const netnsPath = `/proc/${pid}/ns/net`;
    // Its ports as soon as the address is known, while the helper makes the veth (the record
    // is written once the container runs, onStart).
    const noted = async (att: Attachment) => {
      const a = attachmentRecord(att);
      rec.networks.push(a);
      if (rec.hostConfig.portBindings.length > 0) {
        a.ports = await this.networks.publish({
          network: att.network,
          containerAddress: att.address,
          ports: rec.hostConfig.portBindings.map((b) => ({ ...b, proto: b.proto as "tcp" | "udp" })),
        });
      }
    };
    await prepared.attach({ ...this.#leaseOptions(rec, owner), netnsPath }, noted);
    trace("engine: network attached (veth)");
  }

  // ------------------------------------------------------------------ state

  /** The status the record and the kernel give together. */
  live(rec: ContainerRecord): LiveState {
    if (rec.status === "exited")
      return {
        status: "exited",
        exitCode: rec.exitCode,
        signal: rec.signal,
        finishedAt: rec.finishedAt,
        ...(rec.restartWaiter && isAlive(rec.restartWaiter.pid, rec.restartWaiter.startTime) ? { restarting: true } : {}),
      };
    if (rec.pid > 0 && isAlive(rec.pid, rec.pidStartTime)) {
      if (!rec.startedAt) return { status: "created" };
      return rec.pausedPid === rec.pid ? { status: "running", paused: true } : { status: "running" };
    }
    const exit = rec.detached ? readExitFile(this.#records.path(rec.id, EXIT_FILE)) : undefined;
    if (exit) return { status: "exited", exitCode: exit.exitCode, signal: exit.signal, finishedAt: exit.finishedAt };
    // Its monitor drains the output, then writes the exit file: until then it is still ending, not exited with -1.
    if (rec.detached && rec.status === "running" && monitorAlive(rec)) return { status: "running" };
    if ((rec.status === "creating" || rec.status === "created") && rec.pid === 0) return { status: "created" };
    return { status: "exited", exitCode: rec.exitCode ?? -1 };
  }

  /**
   * Under the container's lock, once it is not running: its exit recorded, and what it held
   * released (runtime state and cgroup, veth, lease, ports); with autoRemove, everything.
   * Safe to call again and by several processes (the monitor's cleanup, stop, rm).
   */
  async #settle(id: string, known?: KnownExit): Promise<void> {
    const rec = this.#records.read(id);
    if (!rec) return;
    // The process this caller waited for and saw end: not running, with no read of /proc (a
    // record naming another, a restart by another process meanwhile, is asked of the kernel).
    const ours = known?.pid !== undefined && known.pid > 0 && rec.pid === known.pid && rec.pidStartTime === known.startTime;
    const live: LiveState = ours ? { status: "exited" } : this.live(rec);
    if (live.status === "running") return;
    if (rec.status !== "exited") {
      rec.status = "exited";
      rec.exitCode = known?.exitCode ?? live.exitCode ?? -1;
      rec.signal = known?.signal ?? live.signal ?? 0;
      rec.finishedAt = live.finishedAt ?? new Date().toISOString();
    }
    await this.#release(rec);
    trace("engine: settle (lock, release)");
    // A record about to be removed need not be written first: if this process dies in between,
    // the record left says what rm -f removes, as it did before.
    if (rec.hostConfig.autoRemove) await this.#removeRecord(rec, true);
    else this.#records.write(rec);
  }

  /**
   * Its record gone, and with `volumes` the anonymous volumes it had (docker's `rm -v`; --rm and
   * a failed create do it too). One another container uses as well stays.
   */
  async #removeRecord(rec: ContainerRecord, volumes: boolean): Promise<void> {
    await this.#records.remove(rec);
    if (!volumes) return;
    for (const m of rec.mounts) {
      if (!m.anonymous || !m.name) continue;
      await this.volumes
        .remove(m.name, (n) => this.volumeUsers(n))
        .catch((err) => this.#warn(`container ${rec.id.slice(0, 12)}: ${(err as Error).message}`));
    }
  }

  async #release(rec: ContainerRecord): Promise<void> {
    const runtime =
      rec.stateRoot === this.stateRoot ? this.#runtime : new Runtime({ root: rec.stateRoot, onWarning: this.#warn });
    try {
      // A foreground run's runtime removed its state and cgroup when the container exited:
      // no state directory, nothing to delete (and no lock to take for it).
      if (existsSync(stateDir(runtime.root, rec.id))) await runtime.delete(rec.id, { force: true });
    } catch (err) {
      this.#warn(`container ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
    }
    const networks = new Set([...(rec.network ? [rec.network] : []), ...rec.networks.map((n) => n.network)]);
    const nets =
      rec.nftTable === this.nftTable
        ? this.networks
        : new Networks({ dataRoot: join(this.dataRoot, "networks"), table: rec.nftTable });
    // Its init gone, nothing of the container is (a PID namespace of its own): its network
    // namespace goes with it and the kernel deletes the veths, so none is deleted or waited for.
    // Asked only with a network to leave: reading /proc of a pid that is gone costs an exception.
    const namespaceGone = networks.size > 0 && !(rec.pid > 0 && isAlive(rec.pid, rec.pidStartTime));
    for (const network of networks) {
      try {
        await nets.detach({ network, containerId: rec.id, namespaceGone });
      } catch (err) {
        if (!(err instanceof HuskError && /does not exist/.test(err.message)))
          this.#warn(`container ${rec.id.slice(0, 12)}: detach from ${network}: ${(err as Error).message}`);
      }
    }
    for (const n of rec.networks) n.ports = [];
  }

  /** Take back everything a container that never ran made (a failed or killed create). */
  async #destroy(rec: ContainerRecord): Promise<void> {
    await this.#release(rec).catch(() => {});
    await this.#removeRecord(rec, true);
  }

  /** A foreground run detached (its keys typed): the helper's parent is its monitor from now on. */
  #detached(id: string): void {
    const rec = this.#records.read(id);
    if (!rec) return;
    rec.detached = true;
    recordMonitor(rec, procStat(rec.pid));
    // Detach keys come only with -it: attachers get its terminal and may type into it.
    rec.config.tty = true;
    rec.config.openStdin = true;
    this.#records.write(rec);
  }

  /** The monitor's cleanup (`husk _exited ID`): record the exit, release, and remove with autoRemove. */
  async exited(id: string): Promise<void> {
    if (!this.#records.read(id)) return;
    // The monitor wrote it before running this: its status even if the record does not say
    // detached yet (a run -it that ended just as its detach keys were typed).
    const exit = readExitFile(this.#records.path(id, EXIT_FILE));
    await this.#records
      .locked(id, () => this.#settle(id, exit && { exitCode: exit.exitCode, signal: exit.signal }))
      .catch((err) => {
        if (!(err instanceof HuskError && /no such container/.test(err.message))) throw err;
      });
    await this.#restartByPolicy(id);
  }

  /** After an exit: start it again if its restart policy says so, after the back-off (restart-policy.ts). */
  async #restartByPolicy(id: string): Promise<void> {
    const rec = this.#records.read(id);
    const policy = rec?.hostConfig.restartPolicy;
    if (!rec || !policy || policy.name === "no") return;
    const wants = (r: ContainerRecord) =>
      r.status === "exited" &&
      shouldRestart(r.hostConfig.restartPolicy, {
        exitCode: r.exitCode ?? -1,
        restartCount: r.restartCount ?? 0,
        stoppedByUser: r.stoppedByUser === true,
      });
    if (!wants(rec)) return;
    const ran = Date.parse(rec.finishedAt ?? "") - Date.parse(rec.startedAt ?? "");
    const delay = nextDelay(rec.restartDelayMs, Number.isFinite(ran) ? ran : 0);
    // "Restarting" while this process waits: ps and inspect tell it from a container that stays exited.
    const waiter = this.#ownProcess();
    await this.#records
      .locked(id, () => {
        const r = this.#records.read(id);
        if (!r || !wants(r)) return;
        r.restartWaiter = waiter;
        this.#records.write(r);
      })
      .catch(() => {});
    await sleep(delay);
    await startDetached(this.#host(), id, undefined, (r) => {
      r.restartWaiter = undefined;
      if (!wants(r)) return false;
      r.restartCount = (r.restartCount ?? 0) + 1;
      r.restartDelayMs = delay;
      return true;
    }).catch((err) => this.#warn(`container ${id.slice(0, 12)}: restart: ${(err as Error).message}`));
  }

  // ------------------------------------------------------------------ verbs on containers

  record(ref: string): ContainerRecord {
    return this.#records.find(ref);
  }

  /**
   * The containers, newest first: running ones, or all; `filters` as docker ps --filter
   * (id, name, label, status, exited, ancestor, network, volume: { status: ["exited"] }).
   */
  async list(options: { all?: boolean; filters?: ContainerFilters } = {}): Promise<ContainerSummary[]> {
    const { checkFilters, listsStopped, matches } = await import("./filters.ts");
    const filters = options.filters ? checkFilters(options.filters) : undefined;
    const all = options.all === true || (filters !== undefined && listsStopped(filters));
    const out: ContainerSummary[] = [];
    for (const rec of this.#records.all()) {
      const live = this.live(rec);
      if (!all && live.status !== "running" && !live.restarting) continue; // docker lists restarting ones too
      const state = stateWord(live);
      if (filters && !matches(filters, { rec, state, exitCode: live.exitCode })) continue;
      out.push({
        id: rec.id,
        name: rec.name,
        image: rec.image,
        command: [rec.path, ...rec.args].join(" "),
        created: rec.created,
        state,
        status: statusText(rec, live),
        exitCode: live.exitCode,
        ports: rec.networks.flatMap((n) =>
          n.ports.map((p) => `${p.hostIp || "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.proto}`),
        ),
        labels: rec.config.labels ?? {},
        networks: rec.networks.map((n) => n.network),
        mounts: rec.mounts.filter((m) => m.type !== "tmpfs").map((m) => m.name ?? m.source),
      });
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
  }

  async inspect(ref: string): Promise<ContainerInspect> {
    const rec = this.#records.find(ref);
    return inspectShape(rec, this.live(rec), {
      dir: this.#records.path(rec.id),
      logPath: rec.detached ? this.#records.path(rec.id, LOG_FILE) : "",
    });
  }

  /**
   * The ports a running container publishes (`husk port`), or those of one container port
   * ("80", "80/tcp", "53/udp"); none once it stopped. Asking for a port it does not publish is
   * a NotFoundError, as docker's "No public port".
   */
  async port(ref: string, containerPort?: string): Promise<PortMapping[]> {
    const want = containerPort === undefined ? undefined : parsePortFilter(containerPort);
    const rec = this.#records.find(ref);
    const all = portMappings(rec, this.live(rec).status === "running");
    if (!want) return all;
    const mine = all.filter((m) => m.containerPort === want.port && m.proto === want.proto);
    if (mine.length === 0) throw new NotFoundError(`no public port '${want.port}/${want.proto}' published for ${rec.name}`);
    return mine;
  }

  /**
   * Send a signal to the container's init (default SIGKILL). A paused container is thawed
   * after a SIGKILL, as docker does: frozen, it would not die.
   */
  async kill(ref: string, signal: string | number = "SIGKILL"): Promise<void> {
    const rec = this.#records.find(ref);
    const live = this.live(rec);
    if (live.status !== "running") throw new HuskError(`container ${rec.id.slice(0, 12)} is not running`);
    const sig =
      typeof signal === "number" ? signal : parseSignal(signal.toUpperCase().startsWith("SIG") ? signal : `SIG${signal}`);
    await this.#runtime.kill(rec.id, sig);
    if (live.paused && sig === parseSignal("SIGKILL")) await this.#thaw(rec.id);
  }

  /**
   * Freeze every process of a running container (the cgroup freezer, as docker pause); it
   * stays running, frozen, until unpause. Its exec and attach wait as its processes do.
   */
  async pause(ref: string): Promise<void> {
    const found = this.#records.find(ref);
    await this.#records.locked(found.id, async () => {
      const rec = this.#records.read(found.id) ?? found;
      const live = this.live(rec);
      if (live.status !== "running") throw new ConflictError(`container ${rec.id.slice(0, 12)} is not running`);
      if (live.paused) throw new ConflictError(`container ${rec.id.slice(0, 12)} is already paused`);
      await this.#runtime.pause(rec.id);
      rec.pausedPid = rec.pid;
      this.#records.write(rec);
    });
  }

  /**
   * docker update: new memory, CPU or pids limits. A running container's cgroup changes at once
   * (the runtime's update); a later start of it uses them too. Errors name UpdateOptions.<field>.
   */
  async update(ref: string, limits: Limits & { restart?: string }): Promise<void> {
    if (limits === null || typeof limits !== "object") throw new HuskError("must be an object", { origin: "UpdateOptions" });
    const { restart, ...rest } = limits;
    const unknown = Object.keys(rest).find((k) => k !== "memory" && k !== "cpus" && k !== "pidsLimit");
    if (unknown !== undefined) throw new HuskError("unknown option", { origin: `UpdateOptions.${unknown}` });
    const checked = checkLimits(rest as Record<string, unknown>, "UpdateOptions");
    const resources = limitResources(checked);
    const policy = restart === undefined ? undefined : parseRestartPolicy(restart, "UpdateOptions.restart");
    if (Object.keys(resources).length === 0 && !policy)
      throw new HuskError("nothing to update: give memory, cpus, pidsLimit or restart", { origin: "UpdateOptions" });
    const found = this.#records.find(ref);
    await this.#records.locked(found.id, async () => {
      const rec = this.#records.read(found.id) ?? found;
      if (policy && policy.name !== "no" && rec.hostConfig.autoRemove) throw policyWithRemoval("UpdateOptions.restart");
      if (policy) rec.hostConfig.restartPolicy = policy.name === "no" ? undefined : policy;
      if (Object.keys(resources).length > 0 && this.live(rec).status === "running") await this.#runtime.update(rec.id, resources);
      if (!rec.hostConfig.autoRemove && existsSync(this.#records.path(rec.id, LAUNCH_FILE))) {
        const launch = readLaunch(this.#records, rec);
        launch.spec.linux = { ...launch.spec.linux, resources: { ...launch.spec.linux?.resources, ...resources } };
        saveLaunch(this.#records, rec.id, launch);
      }
      if (checked.memory !== undefined) rec.hostConfig.memory = checked.memory;
      if (checked.cpus !== undefined) rec.hostConfig.cpus = checked.cpus;
      if (checked.pidsLimit !== undefined) rec.hostConfig.pidsLimit = checked.pidsLimit;
      this.#records.write(rec);
    });
  }

  /** Thaw a paused container. */
  async unpause(ref: string): Promise<void> {
    const found = this.#records.find(ref);
    const rec = this.#records.read(found.id) ?? found;
    if (!this.live(rec).paused) throw new ConflictError(`container ${rec.id.slice(0, 12)} is not paused`);
    await this.#thaw(rec.id);
  }

  /** Resume a frozen container and drop its paused mark, under its lock. */
  async #thaw(id: string): Promise<void> {
    await this.#records.locked(id, async () => {
      await this.#runtime.resume(id);
      const rec = this.#records.read(id);
      if (!rec) return;
      rec.pausedPid = undefined;
      this.#records.write(rec);
    });
  }

  /**
   * Give a running container one more network card on `network` (the tutorials' eth1): a veth
   * whose peer is made in its network namespace as the next free ethN, an address from the
   * network's IPAM, no default route (its first card keeps that); /etc/hosts lists it too.
   */
  async connect(network: string, ref: string, options: { aliases?: string[] } = {}): Promise<AttachmentRecord> {
    if (typeof network !== "string" || network === "") throw new HuskError("must be a non-empty string", { origin: "network" });
    const aliases = options.aliases ?? [];
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== "string" || !HOST_NAME.test(a)))
      throw new HuskError("must be host names (letters, digits, '_', '.' and '-')", { origin: "aliases" });
    this.networks.inspect(network); // an unknown network fails here
    const found = this.#records.find(ref);
    return this.#records.locked(found.id, async () => {
      const rec = this.#records.read(found.id) ?? found;
      if (this.live(rec).status !== "running") throw new ConflictError(`container ${rec.id.slice(0, 12)} is not running`);
      if (rec.networks.some((n) => n.network === network)) {
        throw new ConflictError(`container ${rec.id.slice(0, 12)} is already connected to network ${quote(network)}`);
      }
      const used = new Set(rec.networks.map((n) => n.ifname));
      let k = 0;
      while (used.has(`eth${k}`)) k++;
      const att = await this.networks.attach({
        network,
        containerId: rec.id,
        ifname: `eth${k}`,
        netnsPath: `/proc/${rec.pid}/ns/net`,
        defaultRoute: false,
        owner: leaseOwner(rec.pid),
        ...this.#names(rec, network, aliases),
      });
      const a = attachmentRecord(att);
      rec.networks.push(a);
      this.#records.write(rec);
      await this.#writeHosts(rec);
      return a;
    });
  }

  /**
   * docker rename: another name for a container (running or not). On its user networks the
   * others resolve the new name (their hosts files), and its own hosts file says it.
   */
  async rename(ref: string, newName: string): Promise<void> {
    checkName(newName, "newName", "");
    const found = this.#records.find(ref);
    await this.#records.locked(found.id, async () => {
      const old = (this.#records.read(found.id) ?? found).name;
      const rec = await this.#records.rename(found.id, newName);
      if (old === newName) return;
      await this.networks.renameContainer(rec.id, old, newName);
      // Its own /etc/hosts lists its name beside its address (a running one's, bound in place).
      if (existsSync(this.#records.path(rec.id, "etc/hosts")) && rec.hostConfig.networkMode !== "host")
        await this.#writeHosts(rec);
    });
  }

  /** Take a network card off a running container: its veth deleted, its lease and ports released. */
  async disconnect(network: string, ref: string): Promise<void> {
    const found = this.#records.find(ref);
    await this.#records.locked(found.id, async () => {
      const rec = this.#records.read(found.id) ?? found;
      const a = rec.networks.find((n) => n.network === network);
      if (!a) throw new NotFoundError(`container ${rec.id.slice(0, 12)} is not connected to network ${quote(network)}`);
      // Its veth unlisted, not freed: the kernel's ~20 ms of unregistration are the helper's alone.
      await this.networks.detach({ network, containerId: rec.id, ifname: a.ifname, wait: false });
      rec.networks = rec.networks.filter((n) => n !== a);
      if (rec.network === network) rec.network = undefined;
      this.#records.write(rec);
      await this.#writeHosts(rec);
    });
  }

  /**
   * /etc/hosts with the container's current addresses and the containers it sees on its user
   * networks; in place (the bind mount of it stays).
   */
  async #writeHosts(rec: ContainerRecord): Promise<void> {
    const base = this.#hostsBase(
      rec,
      rec.networks.map((n) => n.address),
      rec.networks[0]?.gateway,
    );
    await this.networks.writeHosts(rec.id, this.#records.path(rec.id, "etc/hosts"), base);
  }

  /** The container's own part of its hosts file (names.ts): localhost, its name on its addresses, --add-host. */
  #hostsBase(rec: ContainerRecord, addresses: string[], gateway: string | undefined): string {
    return renderHosts({ hostname: rec.config.hostname, addresses, aliases: [rec.name], ...dnsFilesOptions(rec), gateway });
  }

  /**
   * The lease of a container's interface on its first network: its names on a user network,
   * and its hosts file made with it (its address, the others it sees).
   */
  #leaseOptions(rec: ContainerRecord, owner: Owner | undefined): ReserveOptions {
    const network = rec.network!;
    return {
      network,
      containerId: rec.id,
      owner,
      ensure: network === this.#defaultName() ? { ...this.#defaultNetwork, name: network } : undefined,
      ...this.#names(rec, network, rec.hostConfig.networkAliases),
      hosts: {
        file: this.#records.path(rec.id, "etc/hosts"),
        base: (address, gateway) => this.#hostsBase(rec, [address], gateway),
      },
    };
  }

  #defaultName(): string {
    return this.#defaultNetwork.name ?? DEFAULT_NETWORK;
  }

  /** On a user network (not the default one, as docker's "bridge"), others find it by name, short id and aliases. */
  #names(rec: ContainerRecord, network: string, aliases: string[] = []): { names?: string[]; hostsFile?: string } {
    if (network === this.#defaultName()) return {};
    return { names: containerNames(rec.name, rec.id, aliases), hostsFile: this.#records.path(rec.id, "etc/hosts") };
  }

  /**
   * Its stop signal (SIGTERM unless --stop-signal or the image's StopSignal say otherwise), then
   * SIGKILL after timeoutMs (default its --stop-timeout, else 10 s); resolves once it has stopped
   * and what it held is released.
   */
  async stop(ref: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const rec = this.#records.find(ref);
    if (rec.status === "created" && rec.pid === 0) return; // never started: nothing to stop (docker)
    // Its restart policy must not start it again once it ends (until it is started by hand).
    if (rec.hostConfig.restartPolicy && rec.hostConfig.restartPolicy.name !== "no")
      await this.#records.locked(rec.id, () => {
        const now = this.#records.read(rec.id);
        if (!now) return;
        now.stoppedByUser = true;
        now.restartWaiter = undefined;
        this.#records.write(now);
      });
    const timeout = options.timeoutMs ?? (rec.config.stopTimeout ?? 10) * 1000;
    const live = this.live(rec);
    if (live.status === "running") {
      try {
        await this.#runtime.kill(rec.id, parseSignal(rec.config.stopSignal ?? "SIGTERM"));
      } catch {}
      // Paused: thawed once the SIGTERM is pending, so that it can end as it chooses to.
      if (live.paused) await this.#thaw(rec.id).catch(() => {});
      const deadline = Date.now() + timeout;
      while (isAlive(rec.pid, rec.pidStartTime) && Date.now() < deadline) await sleep(20);
      if (isAlive(rec.pid, rec.pidStartTime)) {
        try {
          await this.#runtime.kill(rec.id, parseSignal("SIGKILL"), { all: true });
        } catch {}
        while (isAlive(rec.pid, rec.pidStartTime)) await sleep(10);
      }
    }
    await this.#waitMonitor(rec);
    await this.#records.locked(rec.id, () => this.#settle(rec.id)).catch(() => {});
  }

  /** A detached container's monitor writes its exit file last: wait for it (or for the monitor to be gone). */
  async #waitMonitor(rec: ContainerRecord): Promise<void> {
    // No monitor recorded: a run killed before its monitor was known; nothing will write the file.
    if (!rec.detached || rec.status === "exited" || !rec.monitorPid) return;
    const exitFile = this.#records.path(rec.id, EXIT_FILE);
    const deadline = Date.now() + 5000;
    while (!existsSync(exitFile) && Date.now() < deadline) {
      // The container is gone; give the monitor a moment, unless it is gone too.
      if ((procStat(rec.pid)?.ppid ?? 0) !== rec.monitorPid && !isAlive(rec.pid, rec.pidStartTime) && !monitorAlive(rec)) return;
      await sleep(10);
    }
  }

  /**
   * Remove a container; a running one only with force (killed first); with volumes, its
   * anonymous volumes too (docker's rm -v).
   */
  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.#records.find(ref);
    await this.#records.locked(rec.id, async () => {
      const now = this.#records.read(rec.id);
      if (!now) return;
      const live = this.live(now);
      if (live.status === "running" && !options.force)
        throw new HuskError(
          `cannot remove container ${now.name}: container is running: stop the container before removing or force remove`,
        );
      // docker's too: its restart policy is about to start it again.
      if (live.restarting && !options.force)
        throw new HuskError(
          `cannot remove container ${now.name}: container is restarting: stop the container before removing or force remove`,
        );
      if (live.status !== "exited") {
        const runtime = new Runtime({ root: now.stateRoot, onWarning: this.#warn });
        await runtime.delete(now.id, { force: true }).catch((err) => this.#warn((err as Error).message));
      }
      await this.#waitMonitor(now);
      await this.#release(now);
      trace("engine: remove: released");
      await this.#removeRecord(now, options.volumes === true);
    });
  }

  /** Wait for the container to exit; resolves with its exit status. */
  async wait(ref: string, options: { signal?: AbortSignal } = {}): Promise<{ exitCode: number }> {
    const id = this.#records.find(ref).id;
    for (;;) {
      if (options.signal?.aborted) throw new AbortError("wait aborted", { containerId: id });
      const rec = this.#records.read(id);
      if (!rec) throw new HuskError(`no such container: ${ref}`);
      const live = this.live(rec);
      if (live.status === "exited") return { exitCode: live.exitCode ?? -1 };
      await sleep(25);
    }
  }

  /**
   * The log of a detached container, entry by entry; with follow, until it exits. since and
   * until keep the entries of that time span (Dates, or docker's forms: "10m", an RFC 3339
   * time, Unix seconds).
   */
  async *logs(
    ref: string,
    options: { follow?: boolean; tail?: number; since?: Date | string; until?: Date | string } = {},
  ): AsyncGenerator<LogEntry> {
    const since = logTime(options.since, "since");
    const until = logTime(options.until, "until");
    const rec = this.#records.find(ref);
    const path = this.#records.path(rec.id, LOG_FILE);
    let offset = 0;
    let first = true;
    let partial = "";
    const inSpan = (e: LogEntry) => {
      const t = since !== undefined || until !== undefined ? Date.parse(e.time) : 0;
      return (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    for (;;) {
      // Whether it had exited is known before reading: the monitor closes the log before it
      // writes the exit file, so a read after that sees the whole log.
      const now = this.#records.read(rec.id);
      const done = !now?.detached || this.live(now).status === "exited";
      const { text, end } = readFrom(path, offset);
      offset = end;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      let entries = lines.filter(Boolean).flatMap((l) => {
        try {
          const e = JSON.parse(l) as LogEntry;
          return inSpan(e) ? [e] : [];
        } catch {
          return [];
        }
      });
      if (first && options.tail !== undefined && options.tail >= 0)
        entries = entries.slice(Math.max(0, entries.length - options.tail));
      first = false;
      yield* entries;
      if (!options.follow || (done && text === "")) return;
      if (text === "") await sleep(50);
    }
  }

  /**
   * docker attach: this process gets a running detached container's output as it comes, and
   * writes to its stdin (made with interactive) and resizes its terminal, through its monitor
   * (attach.ts); the log goes on meanwhile. Detaching leaves it running. With start, a created
   * or exited one is started first, attached before its process runs (docker's start -a).
   */
  async attach(ref: string, options: AttachStreamOptions = {}): Promise<AttachSession> {
    const { attach } = await import("./attach.ts");
    return attach(
      {
        record: (r) => this.#records.find(r),
        live: (rec) => this.live(rec),
        socketPath: (id) => this.#records.path(id, ATTACH_SOCKET),
        start: (r, beforeStart) => startDetached(this.#host(), r, beforeStart),
        settle: (id) => this.exited(id),
      },
      ref,
      options,
    );
  }

  /** Run a command in a running container; the same result as run. A collector over spawnExec. */
  async exec(ref: string, cmd: string[], options: ExecRunOptions = {}): Promise<RunResult> {
    if (options?.stdin === ("pipe" as never)) throw new HuskError('"pipe" is for spawnExec', { origin: "stdin" });
    return collected(await this.spawnExec(ref, cmd, options), options?.output === "buffer");
  }

  /**
   * Start a command in a running container and return once it runs, with its streams (see
   * spawn). It dies with this process; the container stays.
   */
  async spawnExec(ref: string, cmd: string[], options: SpawnExecOptions = {}): Promise<ContainerProcess> {
    const rec = this.#records.find(ref);
    if (!Array.isArray(cmd) || cmd.length === 0 || cmd.some((c) => typeof c !== "string"))
      throw new HuskError("must be a non-empty array of strings", { origin: "cmd" });
    const live = this.live(rec);
    if (live.status !== "running") throw new HuskError(`container ${rec.id.slice(0, 12)} is not running`);
    if (live.paused) throw new ConflictError(`container ${rec.id.slice(0, 12)} is paused: unpause it before exec`);
    const base = readState(rec.stateRoot, rec.id).spec.process as Process;
    const proc: Process = structuredClone(base);
    proc.args = cmd;
    proc.terminal = false;
    if (options.env !== undefined) proc.env = mergeEnv(proc.env, rec.config.hostname, envList(options.env, "env"));
    if (options.cwd !== undefined) proc.cwd = options.cwd;
    for (const k of ["privileged", "tty"] as const)
      if (options[k] !== undefined && typeof options[k] !== "boolean")
        throw new HuskError("must be a boolean", { origin: `ExecOptions.${k}` });
    if (options.tty && options.stdio !== "inherit")
      throw new HuskError('needs stdio "inherit" (the caller\'s terminal)', { origin: "ExecOptions.tty" });
    if (options.tty) {
      proc.terminal = true;
      if (!(proc.env ?? []).some((e) => e.startsWith("TERM="))) proc.env = [...(proc.env ?? []), "TERM=xterm"];
    }
    if (options.privileged) {
      const all = [...(this.#boundingSet() ?? CAPABILITIES)];
      proc.capabilities = { bounding: all, effective: all, permitted: all };
      proc.noNewPrivileges = false;
    }
    if (options.user !== undefined) {
      const info = await this.images.inspect(rec.imageId).catch(() => undefined);
      const layers = (info?.layers ?? []).map((l) => l.dir).reverse();
      proc.user = resolveUser(options.user, this.#imageFile(layers, "etc/passwd"), this.#imageFile(layers, "etc/group"));
    }
    const stdinSpec: StdioSpec = options.stdin !== undefined ? "pipe" : options.stdio === "inherit" ? "inherit" : "ignore";
    const io: [StdioSpec, StdioSpec, StdioSpec] = options.detach
      ? ["ignore", "ignore", "ignore"]
      : options.stdio === "inherit"
        ? [stdinSpec, "inherit", "inherit"]
        : [stdinSpec, "pipe", "pipe"];
    const runtime = new Runtime({ root: rec.stateRoot, onWarning: this.#warn });
    return startProcess({
      id: rec.id,
      what: `exec in ${rec.id.slice(0, 12)}`,
      input: options.detach ? undefined : options.stdin,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      launch: (hooks) =>
        runtime.exec(
          rec.id,
          { process: proc },
          {
            detach: options.detach,
            stdio: io,
            killWithOwner: !options.detach,
            onStdio: hooks.onStdio,
            onStart: (p) => {
              hooks.onStart(p);
              options.onStart?.(p);
            },
          },
        ),
    });
  }

  // ------------------------------------------------------------------ observing, copying (top.ts, stats.ts, copy.ts)

  /** docker top: the container's processes as the host's ps shows them (default `ps -ef`), host pids. */
  async top(ref: string, psArgs: string[] = []): Promise<TopResult> {
    return (await import("./top.ts")).top(this, ref, psArgs);
  }

  /** One stats sample, CPU % over options.intervalMs (default 1 s); zeros for a container not running. */
  async stats(ref: string, options: StatsOptions = {}): Promise<ContainerStats> {
    return (await import("./stats.ts")).stats(this, ref, options);
  }

  /** A stats sample every intervalMs (default 1 s) until the caller stops or the container is removed. */
  async *statsStream(ref: string, options: StatsOptions & { signal?: AbortSignal } = {}): AsyncGenerator<ContainerStats> {
    yield* (await import("./stats.ts")).statsStream(this, ref, options);
  }

  /** docker cp CONTAINER:PATH DEST: to a host path, or as a tar stream; running or exited containers. */
  async copyFrom(
    ref: string,
    containerPath: string,
    dest: string | import("node:stream").Writable,
    options: CopyOptions = {},
  ): Promise<void> {
    return (await import("./copy.ts")).copyFrom(this, ref, containerPath, dest, { onWarning: this.#warn, ...options });
  }

  /**
   * docker commit: a new image of the container's image and what the container changed (one
   * layer), with its command, environment, working directory, user and labels; resolves with
   * the image id. A running container is paused meanwhile unless pause is false.
   */
  async commit(ref: string, options: CommitOptions = {}): Promise<string> {
    return (await import("./commit.ts")).commitContainer(this, ref, options);
  }

  /**
   * docker export: the container's root filesystem (image and changes, not what is mounted on
   * it) as a tar stream written to dest; running or not.
   */
  async exportContainer(ref: string, dest: import("node:stream").Writable): Promise<void> {
    return (await import("./copy.ts")).exportRootfs(this, ref, dest);
  }

  /** docker cp SRC CONTAINER:PATH: a host path, or a tar stream extracted into a directory. */
  async copyTo(
    ref: string,
    source: string | AsyncIterable<Uint8Array>,
    containerPath: string,
    options: CopyOptions = {},
  ): Promise<void> {
    return (await import("./copy.ts")).copyTo(this, ref, source, containerPath, { onWarning: this.#warn, ...options });
  }

  // ------------------------------------------------------------------ housekeeping (df.ts, system.ts)

  /**
   * docker diff: what the container changed in its root filesystem (A added, C changed, D
   * deleted), from its overlay upper directory; the mount points the engine made are left out.
   */
  async diff(ref: string): Promise<Change[]> {
    const rec = this.#records.find(ref);
    const { containerChanges, initLayerPaths } = await import("./diff.ts");
    const image = await this.images.inspect(rec.imageId);
    const lowers = image.layers.map((l) => l.dir).reverse();
    return containerChanges(this.#records.path(rec.id, "upper"), lowers, initLayerPaths(rec));
  }

  /** docker info: counts of what this engine holds, and what it runs on. */
  async info(): Promise<EngineInfo> {
    return (await import("./info.ts")).engineInfo(this);
  }

  /** husk's version, its helper's commit, the spec version and the JS runtime. */
  async version(): Promise<VersionReport> {
    return (await import("./info.ts")).versionReport();
  }

  /** docker system df: images, containers and volumes on disk, shared blocks counted once. */
  async df(): Promise<DiskUsage> {
    return (await import("./df.ts")).df(this);
  }

  /** docker's prune verbs: what nothing uses, of the kinds asked for; what went and the bytes freed. */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    return (await import("./system.ts")).prune(this, options, this.#system());
  }

  /** podman's system reset: every container, image, volume, network, lease, mount and rule of this engine gone. */
  async reset(): Promise<void> {
    return (await import("./system.ts")).reset(this, this.#system());
  }

  #system(): SystemContext {
    return { defaultNetwork: this.#defaultName(), warn: this.#warn };
  }

  // ------------------------------------------------------------------ images

  /**
   * Pull an image from an OCI Distribution registry into the store (token and basic auth,
   * `husk login`'s credentials, multi-platform indexes, gzip and zstd layers, verified blobs).
   */
  async pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    if (typeof reference !== "string" || reference === "")
      throw new HuskError("must be a non-empty string", { origin: "reference" });
    const { pullImage } = await import("../image/pull.ts");
    return pullImage(this.images, reference, options);
  }

  /**
   * docker push: an image tagged with a registry's name (`husk tag`) to that registry: blobs it
   * lacks, then the manifest as stored (its digest unchanged). Resolves with the digest and size.
   */
  async push(reference: string, options: PushOptions = {}): Promise<PushResult> {
    if (typeof reference !== "string" || reference === "")
      throw new HuskError("must be a non-empty string", { origin: "reference" });
    const { pushImage } = await import("../image/push.ts");
    return pushImage(this.images, reference, options);
  }

  /** Check credentials against a registry and keep them for pulls (<dataRoot>/auth.json, 0600). */
  async login(registry: string, username: string, password: string, options: LoginOptions = {}): Promise<void> {
    const { login } = await import("../image/auth.ts");
    await login(this.dataRoot, registry, username, password, options);
  }

  /** Forget a registry's credentials; false when there were none. */
  async logout(registry: string): Promise<boolean> {
    const { logout } = await import("../image/auth.ts");
    return logout(this.dataRoot, registry);
  }

  /** Import a docker or OCI archive, OCI layout or rootfs tarball (a path, or a stream of bytes). */
  async importImage(source: ImportSource, options: ImportOptions = {}): Promise<ImportResult> {
    const { importImage } = await import("../image/import.ts");
    return importImage(this.images, source, options);
  }

  /** Write images as one docker (or OCI) archive to a path or a stream. */
  async saveImage(refs: string[], dest: string | import("node:stream").Writable, options: SaveOptions = {}): Promise<void> {
    const { saveImage } = await import("../image/save.ts");
    return saveImage(this.images, refs, dest, options);
  }

  /** docker rmi: refused while a container uses the image (a running one even with force). */
  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<RemoveResult> {
    const info = await this.images.inspect(ref);
    const users = this.#records.all().filter((r) => r.imageId === info.id);
    const blocking = options.force ? users.filter((r) => this.live(r).status === "running") : users;
    if (blocking.length > 0)
      throw new HuskError(
        `unable to remove image ${quote(ref)}: it is used by container ${blocking.map((r) => r.id.slice(0, 12)).join(", ")}`,
      );
    return this.images.remove(ref, options);
  }

  /** Names of the containers that use a volume. */
  volumeUsers(name: string): string[] {
    return this.#records
      .all()
      .filter((r) => r.mounts.some((m) => m.type === "volume" && m.name === name))
      .map((r) => r.name);
  }

  /** An image is in use while a container record names it. */
  imageUsers(imageId: string): string[] {
    return this.#records
      .all()
      .filter((r) => r.imageId === imageId)
      .map((r) => r.name);
  }
}

function statusText(rec: ContainerRecord, live: LiveState): string {
  if (live.status === "running") return `Up ${since(rec.startedAt)}${live.paused ? " (Paused)" : ""}`;
  if (live.status === "created") return "Created";
  return `${live.restarting ? "Restarting" : "Exited"} (${live.exitCode ?? -1}) ${since(live.finishedAt ?? rec.finishedAt)} ago`;
}

/** The record's stop settings: a signal named (an image's StopSignal may be a number or lower case), a timeout if given. */
function stopConfig(signal: string | undefined, timeout: number | undefined): { stopSignal?: string; stopTimeout?: number } {
  // An image's unknown StopSignal: SIGTERM, as for none.
  const stopSignal = signal ? stopSignalText(signal) : undefined;
  return { ...(stopSignal ? { stopSignal } : {}), ...(timeout !== undefined ? { stopTimeout: timeout } : {}) };
}

/**
 * docker's -P: every port the image exposes (ExposedPorts) or --expose names, published on a
 * random host port, besides the -p ones (a port -p publishes already is not published twice).
 */
function publishAllPorts(opts: CheckedRunOptions, image: ContainerConfig, network: string): CheckedRunOptions["ports"] {
  const exposed = [
    ...Object.keys(image.ExposedPorts ?? {}).flatMap((k) => {
      const p = portAndProto(k);
      return p ? [{ containerPort: p.port, proto: p.proto }] : [];
    }),
    ...opts.expose,
  ];
  const ports = [...opts.ports];
  for (const e of exposed)
    if (!ports.some((p) => p.containerPort === e.containerPort && p.proto === e.proto))
      ports.push({ containerPort: e.containerPort, proto: e.proto, hostPort: 0, hostIp: "" });
  if (ports.length > opts.ports.length && network !== "bridge")
    throw new HuskError(`cannot publish ports with network ${quote(opts.network)}`, { origin: "RunOptions.publishAll" });
  return ports;
}

/** What a file holds from offset on (a follower reads only what is new), and where it ends. */
function readFrom(path: string, offset: number): { text: string; end: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return { text: "", end: offset };
  }
  try {
    const chunks: Buffer[] = [];
    let at = offset;
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      at += n;
    }
    return { text: Buffer.concat(chunks).toString(), end: at };
  } finally {
    closeSync(fd);
  }
}

/**
 * docker logs' --since/--until: a Date, a duration back from now ("10m", "1h30m", "2s"), an
 * RFC 3339 time, or Unix seconds; as milliseconds since the epoch.
 */
export function logTime(value: Date | string | undefined, option: string, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  if (typeof value === "string") {
    const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join("") === value)
      return now - parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new HuskError(`invalid time ${quote(String(value))}: a duration (10m), an RFC 3339 time or Unix seconds`, {
    origin: `LogsOptions.${option}`,
  });
}

/** "/data/" → "/data": an image's VOLUME keys may end in a slash. */
const trimSlashes = (path: string) => (path.length > 1 ? path.replace(/\/+$/, "") || "/" : path);

/** A running (or once running) container; `await using` removes it (forced) on scope exit. */
export class Container {
  constructor(
    readonly engine: Engine,
    readonly id: string,
    readonly name: string,
    /** The init's pid as the host sees it (0 if it was not running when the handle was made). */
    readonly pid: number,
  ) {}

  exec(cmd: string[], options: ExecRunOptions = {}): Promise<RunResult> {
    return this.engine.exec(this.id, cmd, options);
  }
  /** Attach to it while it runs detached (Engine.attach): its output as it comes, its stdin, its terminal's size. */
  attach(options: AttachStreamOptions = {}): Promise<AttachSession> {
    return this.engine.attach(this.id, options);
  }
  /** A command in it with its streams (Engine.spawnExec). */
  spawn(cmd: string[], options: SpawnExecOptions = {}): Promise<ContainerProcess> {
    return this.engine.spawnExec(this.id, cmd, options);
  }
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.engine.stop(this.id, options);
  }
  /** Start it (again): detached, resolving with a handle that has the new pid; or with attach, until it exits. */
  start(options?: { attach?: false }): Promise<Container>;
  start(options: AttachOptions & { attach: true }): Promise<AttachedResult>;
  start(options: AttachOptions & { attach?: boolean } = {}): Promise<Container | AttachedResult> {
    return this.engine.startContainer(this.id, options as AttachOptions & { attach: true });
  }
  restart(options: { timeoutMs?: number } = {}): Promise<Container> {
    return this.engine.restart(this.id, options);
  }
  kill(signal: string | number = "SIGKILL"): Promise<void> {
    return this.engine.kill(this.id, signal);
  }
  wait(): Promise<{ exitCode: number }> {
    return this.engine.wait(this.id);
  }
  logs(options: { follow?: boolean; tail?: number } = {}): AsyncGenerator<LogEntry> {
    return this.engine.logs(this.id, options);
  }
  inspect(): Promise<ContainerInspect> {
    return this.engine.inspect(this.id);
  }
  pause(): Promise<void> {
    return this.engine.pause(this.id);
  }
  diff(): Promise<Change[]> {
    return this.engine.diff(this.id);
  }
  commit(options: CommitOptions = {}): Promise<string> {
    return this.engine.commit(this.id, options);
  }
  update(limits: Limits & { restart?: string }): Promise<void> {
    return this.engine.update(this.id, limits);
  }
  rename(newName: string): Promise<void> {
    return this.engine.rename(this.id, newName);
  }
  unpause(): Promise<void> {
    return this.engine.unpause(this.id);
  }
  port(containerPort?: string): Promise<PortMapping[]> {
    return this.engine.port(this.id, containerPort);
  }
  top(psArgs: string[] = []): Promise<TopResult> {
    return this.engine.top(this.id, psArgs);
  }
  stats(options: StatsOptions = {}): Promise<ContainerStats> {
    return this.engine.stats(this.id, options);
  }
  statsStream(options: StatsOptions & { signal?: AbortSignal } = {}): AsyncGenerator<ContainerStats> {
    return this.engine.statsStream(this.id, options);
  }
  copyFrom(containerPath: string, dest: string | import("node:stream").Writable, options: CopyOptions = {}): Promise<void> {
    return this.engine.copyFrom(this.id, containerPath, dest, options);
  }
  copyTo(source: string | AsyncIterable<Uint8Array>, containerPath: string, options: CopyOptions = {}): Promise<void> {
    return this.engine.copyTo(this.id, source, containerPath, options);
  }
  async remove(options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.engine.remove(this.id, options);
    } catch (err) {
      if (options.force && err instanceof HuskError && /no such container/.test(err.message)) return;
      throw err;
    }
  }
  [asyncDispose](): Promise<void> {
    return this.remove({ force: true });
  }
}

export type { MountRecord };
