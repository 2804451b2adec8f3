/**
 * A container's life after it is made: `husk create` (made, not running), `husk start`
 * (created or exited → running again, with the same record), `husk restart`, and the detached
 * launch `husk run -d` shares with start. engine.ts lends its private parts through a
 * LifecycleHost; everything here works on the container's record under its lock.
 *
 * What a start keeps and what it makes anew (docker's rules):
 *
 *   kept      id, name, the writable layer (<dir>/upper), volumes and binds, /etc/hosts,
 *             hostname and resolv.conf (<dir>/etc), the log (appended to), the spec and
 *             overlay it was made with (<dir>/launch.json)
 *   anew      runtime state and cgroup, the veth and its lease (another address is fine, as
 *             docker), published ports, the pid, StartedAt
 *
 * A start, in order, holding the record's lock until the container's process exists (so two
 * starts, or a start and the old monitor's `husk _exited`, cannot interleave):
 *
 *   running already → nothing (docker prints the name) · the last run's leftovers released
 *   (runtime state, veth, lease: what `rm -f` would take) · record: status "creating", pid 0,
 *   no networks — written before anything is made, so a killed start leaves what `rm -f`
 *   removes · runtime create (the overlay mounted in the container's own mount namespace,
 *   networks attached while it waits) · start.
 *
 * A start that fails releases what it made and leaves the container exited with the error
 * recorded (docker's State.Error; 127/126 when the command cannot run, else 128); a --rm
 * container is removed instead.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ConflictError, ExecError, HuskError, NotFoundError } from "../errors.ts";
import type { Networks } from "../network/networks.ts";
import type { Owner } from "../network/store.ts";
import type { Spec } from "../oci/types.ts";
import { isAlive, type ProcStat, procStat } from "../runtime/proc.ts";
import type { CreateOptions, Runtime } from "../runtime/runtime.ts";
import type { StdioSpec } from "../sys/index.ts";
import { asExecError } from "./errors.ts";
import type { RunOptions } from "./options.ts";
import { ATTACH_SOCKET, type ContainerRecord, EXIT_FILE, LAUNCH_FILE, LOG_FILE, type Records } from "./records.ts";
import { captureStdio, signalName } from "./stdio.ts";

/** What a container starts with, every time: written when it is made. */
export interface Launch {
  spec: Spec;
  rootfsMount: { fstype: string; source: string; data: string };
  init: boolean;
}

/** The engine's parts this module works through (engine.ts's #host). */
export interface LifecycleHost {
  dataRoot: string;
  stateRoot: string;
  nftTable: string;
  records: Records;
  runtime: Runtime;
  networks: Networks;
  /** The command a detached container's monitor runs when it exits. */
  huskCommand: string;
  live(rec: ContainerRecord): { status: "created" | "running" | "exited" };
  /** How a container about to be made gets its first network (engine.ts' #network). */
  network(rec: ContainerRecord): NetworkLaunch;
  /** The names it has on a network, for the others there (none on the default network). */
  names(rec: ContainerRecord, network: string): { names?: string[]; hostsFile?: string };
  /** Its /etc/hosts made again in place: its addresses and the others on its user networks. */
  writeHosts(rec: ContainerRecord): Promise<void>;
  /** Runtime state and cgroup, veths, leases and ports released; idempotent. */
  release(rec: ContainerRecord): Promise<void>;
  /** Under the lock, once it is not running: exit recorded, released, removed with autoRemove. */
  settle(id: string, known?: { exitCode: number; signal: number }): Promise<void>;
  /** An autoRemove container's end: its record and anonymous volumes removed. */
  removeRecord(rec: ContainerRecord): Promise<void>;
  /** --network container:X: X's network namespace now (X must run); undefined for other modes. */
  joinedNetns(rec: ContainerRecord): string | undefined;
}

/** How a container about to be made gets its first network: see the engine's #network. */
export interface NetworkLaunch {
  /** For the runtime's create or run: loopbackUp, or onPlanSent and parentNetlink. */
  options: Pick<CreateOptions, "loopbackUp" | "onPlanSent" | "parentNetlink">;
  /** While it waits with its namespaces made (onNamespaces); none: it need not wait. */
  attach?: (pid: number) => Promise<void>;
  /** After the launch, whatever its end: a lease no attach used is given back. */
  done(): void;
}

/** Where a started-and-attached container's streams go (`husk start -a`, Container.start({ attach })). */
export interface AttachOptions {
  /** "pipe" (the default): stdout and stderr collected into the result; "inherit": the caller's own fds. */
  stdio?: "pipe" | "inherit";
  /** With stdio "inherit": the container reads the caller's stdin (docker's start -i). */
  interactive?: boolean;
  /** With stdio "pipe": fed to the container's stdin. */
  stdin?: RunOptions["stdin"];
  output?: "string" | "buffer";
  /** Called once the container's process runs. */
  onStart?: (id: string, pid: number) => void;
}

export interface AttachedResult {
  id: string;
  exitCode: number;
  signal?: string;
  stdout: string | Buffer;
  stderr: string | Buffer;
}

/** A detached container with a terminal gets a size its programs can use (there is no caller's terminal to copy). */
const DETACHED_CONSOLE = { height: 24, width: 80 };

/** A detached container's tty or interactive option: a boolean, default false. */
export function checkFlag(value: unknown, option: "tty" | "interactive"): boolean {
  if (value !== undefined && typeof value !== "boolean")
    throw new HuskError("must be a boolean", { origin: `RunOptions.${option}` });
  return value === true;
}

/** The spec with a terminal: the container's stdio is a pty; TERM=xterm unless env sets it (docker's -t). */
export function withTerminal(spec: Spec): void {
  if (!spec.process) return;
  spec.process.terminal = true;
  if (!(spec.process.env ?? []).some((e) => e.startsWith("TERM=")))
    spec.process.env = [...(spec.process.env ?? []), "TERM=xterm"];
}

export function saveLaunch(records: Records, id: string, launch: Launch): void {
  const file = records.path(id, LAUNCH_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(launch), { mode: 0o600 });
  renameSync(tmp, file);
}

export function readLaunch(records: Records, rec: ContainerRecord): Launch {
  try {
    return JSON.parse(readFileSync(records.path(rec.id, LAUNCH_FILE), "utf8")) as Launch;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new ConflictError(`container ${rec.name} cannot be started again: it was made without a launch record`);
    throw new HuskError(`corrupt launch record of container ${rec.name}: ${(err as Error).message}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lease's owner: the process `pid` by its start time (0 when it is gone already: a stale owner). */
export function leaseOwner(pid: number): Owner {
  return { pid, startTime: Number(procStat(pid)?.startTime ?? 0) };
}

/** The monitor of the run whose init's /proc stat is `init` (its parent), kept with its start time. */
export function recordMonitor(rec: ContainerRecord, init: ProcStat | null): void {
  const monitor = init?.ppid ?? 0;
  rec.monitorPid = monitor;
  rec.monitorStartTime = procStat(monitor)?.startTime ?? "";
}

/**
 * Whether the monitor of the record's run still lives: not a zombie (a monitor killed with its
 * container stays one until the host's init reaps it, which may take a while), and the same
 * process (its start time: after a reboot the pid may be another's). A record from before the
 * start time was kept: by its pid.
 */
export function monitorAlive(rec: ContainerRecord): boolean {
  if (!rec.monitorPid) return false;
  if (rec.monitorStartTime) return isAlive(rec.monitorPid, rec.monitorStartTime);
  const st = procStat(rec.monitorPid);
  return st !== null && st.state !== "Z" && st.state !== "X";
}

/**
 * The last run's monitor writes its exit file and then runs `husk _exited`: let it finish
 * writing (up to 5 s), or the file would appear after this start removed it.
 */
async function monitorDone(h: LifecycleHost, rec: ContainerRecord): Promise<void> {
  if (!rec.detached || !rec.monitorPid) return;
  const deadline = Date.now() + 5000;
  const exitFile = h.records.path(rec.id, EXIT_FILE);
  for (;;) {
    try {
      readFileSync(exitFile);
      return;
    } catch {}
    if (!monitorAlive(rec) || Date.now() > deadline) return;
    await sleep(10);
  }
}

/**
 * The record made ready for a new run (under its lock, not running): what the last run held is
 * released, the record says "creating" with no pid and no networks. Returns the networks it
 * was connected to besides its first (`network connect`), to be connected again.
 */
async function reset(h: LifecycleHost, rec: ContainerRecord): Promise<string[]> {
  await monitorDone(h, rec);
  await h.release(rec);
  const extra = rec.networks.map((n) => n.network).filter((n) => n !== rec.network);
  rmSync(h.records.path(rec.id, EXIT_FILE), { force: true });
  rec.status = "creating";
  rec.pid = 0;
  rec.pidStartTime = "";
  rec.monitorPid = undefined;
  rec.monitorStartTime = undefined;
  rec.restartWaiter = undefined;
  rec.networks = [];
  rec.error = undefined;
  // Detached once its monitor exists (launchDetached): until then there is no exit file to wait for.
  rec.detached = false;
  h.records.write(rec);
  return extra;
}

/** While the container waits with its namespaces made: its first network, then the others it had, as eth1… */
async function attachAll(
  h: LifecycleHost,
  rec: ContainerRecord,
  pid: number,
  extra: string[],
  first?: (pid: number) => Promise<void>,
): Promise<void> {
  await first?.(pid);
  if (extra.length === 0) return;
  for (const network of extra) {
    const used = new Set(rec.networks.map((n) => n.ifname));
    let k = 0;
    while (used.has(`eth${k}`)) k++;
    const att = await h.networks.attach({
      network,
      containerId: rec.id,
      ifname: `eth${k}`,
      netnsPath: `/proc/${pid}/ns/net`,
      defaultRoute: false,
      owner: leaseOwner(pid),
      ...h.names(rec, network),
    });
    const { ifname, address, prefix, gateway, mac, hostVeth } = att;
    rec.networks.push({ network, ifname, address, prefix, gateway, mac, hostVeth, ports: [] });
    h.records.write(rec);
  }
  // In place: the bind mount of it is made already.
  await h.writeHosts(rec);
}

/** A start that failed: what it made released, the container exited with the error (or removed with --rm). */
async function failed(h: LifecycleHost, rec: ContainerRecord, err: unknown): Promise<void> {
  await h.release(rec).catch(() => {});
  const e = asExecError(err);
  rec.status = "exited";
  rec.exitCode = e instanceof ExecError ? e.exitCode : 128;
  rec.signal = 0;
  rec.pid = 0;
  rec.pidStartTime = "";
  rec.finishedAt = new Date().toISOString();
  rec.error = e instanceof Error ? e.message : String(e);
  if (rec.hostConfig.autoRemove) await h.removeRecord(rec);
  else h.records.write(rec);
}

/**
 * What a container's monitor is told: its log, exit file and cleanup (`husk _exited ID`), and
 * its attach socket (stdin: attachers' input reaches a container made with -i).
 */
export function monitorOf(
  h: Pick<LifecycleHost, "records" | "huskCommand" | "dataRoot" | "stateRoot" | "nftTable">,
  id: string,
  stdin: boolean,
) {
  return {
    log: h.records.path(id, LOG_FILE),
    exitFile: h.records.path(id, EXIT_FILE),
    // The engine's roots and table, as the container was made with: `_exited` may start it
    // again (its restart policy), and that must happen where it lives.
    cleanup: [h.huskCommand, "--data-root", h.dataRoot, "--state-root", h.stateRoot, "--nft-table", h.nftTable, "_exited", id],
    env: [`PATH=${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`],
    attach: { socket: h.records.path(id, ATTACH_SOCKET), stdin },
  };
}

/**
 * Run the container under a native monitor (native/monitor.c) and return once it runs: the
 * monitor holds its output (a pty's master with a terminal), writes the log and the exit file,
 * then runs `husk _exited`. The caller undoes what this made if it throws. `beforeStart` runs
 * once the monitor listens and before the container's process runs (an attacher that must see
 * all of its output connects there). `freshCgroup`: its first start, whose cgroup cannot exist
 * yet (the runtime's CreateOptions.freshCgroup); a start again may find what a crash left.
 */
export async function launchDetached(
  h: LifecycleHost,
  rec: ContainerRecord,
  launch: Launch,
  extra: string[] = [],
  beforeStart?: () => Promise<void>,
  freshCgroup = false,
) {
  const id = rec.id;
  const spec = specToStart(h, rec, launch);
  if (spec.process?.terminal && !spec.process.consoleSize) spec.process.consoleSize = DETACHED_CONSOLE;
  const net = h.network(rec);
  const state = await h.runtime
    .create(
      id,
      { spec, dir: h.records.path(id) },
      {
        stdio: ["ignore", "ignore", "ignore"],
        rootfsMount: launch.rootfsMount,
        init: launch.init,
        monitor: monitorOf(h, id, rec.config.openStdin === true),
        freshCgroup,
        ...net.options,
        // Networks connected by `network connect` before a restart come back after the first.
        onNamespaces: net.attach || extra.length > 0 ? (p) => attachAll(h, rec, p, extra, net.attach) : undefined,
      },
    )
    .finally(() => net.done());
  rec.pid = state.pid;
  const init = procStat(state.pid);
  rec.pidStartTime = init?.startTime ?? "";
  recordMonitor(rec, init);
  rec.detached = true;
  h.records.write(rec);
  await beforeStart?.();
  await h.runtime.start(id);
  rec.status = "running";
  rec.startedAt = new Date().toISOString();
  h.records.write(rec);
}

/**
 * The spec a start runs: the saved one, on another container's network namespace as that one
 * is now (`--network container:X`: X may have started again, with another pid, since).
 */
function specToStart(h: LifecycleHost, rec: ContainerRecord, launch: Launch): Spec {
  const spec = structuredClone(launch.spec);
  const netns = h.joinedNetns(rec);
  if (netns !== undefined) for (const ns of spec.linux?.namespaces ?? []) if (ns.type === "network") ns.path = netns;
  return spec;
}

/** A made container's record: created (not running), its launch saved, a terminal if asked. */
export function created(h: LifecycleHost, rec: ContainerRecord, launch: Launch, tty: boolean, interactive: boolean): void {
  if (tty) withTerminal(launch.spec);
  rec.config.tty = tty;
  if (interactive) rec.config.openStdin = true;
  saveLaunch(h.records, rec.id, launch);
  rec.status = "created";
  h.records.write(rec);
}

function current(h: LifecycleHost, id: string, ref: string): ContainerRecord {
  const rec = h.records.read(id);
  if (!rec) throw new NotFoundError(`no such container: ${ref}`);
  return rec;
}

/**
 * Start a created or exited container detached, under a monitor; a running one is left as it
 * is (docker's start is a no-op then). Resolves with the record once it runs. `beforeStart`:
 * see launchDetached (not called for one that runs already).
 */
export async function startDetached(
  h: LifecycleHost,
  ref: string,
  beforeStart?: () => Promise<void>,
  policyRestart?: (rec: ContainerRecord) => boolean,
): Promise<ContainerRecord> {
  const id = h.records.find(ref).id;
  return h.records.locked(id, async () => {
    const rec = current(h, id, ref);
    if (h.live(rec).status === "running") return rec;
    if (policyRestart) {
      // Its restart policy's: only if, under the lock, it still wants one (not stopped meanwhile).
      if (!policyRestart(rec)) return rec;
    } else {
      // By hand: a new start for its restart policy too (docker's).
      rec.stoppedByUser = undefined;
      rec.restartCount = undefined;
      rec.restartDelayMs = undefined;
    }
    const launch = readLaunch(h.records, rec);
    const extra = await reset(h, rec);
    try {
      await launchDetached(h, rec, launch, extra, beforeStart);
    } catch (err) {
      await failed(h, rec, err);
      throw asExecError(err);
    }
    return rec;
  });
}

/**
 * Start a created or exited container in the foreground and wait for it (`husk start -a`):
 * its output collected or on the caller's fds, a terminal proxied to the caller's. The lock is
 * held until its process exists, not while it runs (stop, kill and rm -f must reach it).
 */
export async function startAttached(h: LifecycleHost, ref: string, options: AttachOptions = {}): Promise<AttachedResult> {
  const { stdio, interactive, stdin, output, onStart } = options ?? {};
  if (stdio !== undefined && stdio !== "pipe" && stdio !== "inherit")
    throw new HuskError('must be "pipe" or "inherit"', { origin: "AttachOptions.stdio" });
  const id = h.records.find(ref).id;
  const pipe = stdio !== "inherit";
  const io: [StdioSpec, StdioSpec, StdioSpec] = pipe
    ? [stdin !== undefined ? "pipe" : "ignore", "pipe", "pipe"]
    : [interactive ? "inherit" : "ignore", "inherit", "inherit"];
  const capture = captureStdio(stdin);
  let running: Promise<number> | undefined;
  await h.records.locked(id, async () => {
    const rec = current(h, id, ref);
    if (h.live(rec).status === "running")
      throw new ConflictError(`container ${rec.name} is already running: \`husk logs -f\` follows it`);
    const launch = readLaunch(h.records, rec);
    const extra = await reset(h, rec);
    let started: () => void = () => {};
    const ready = new Promise<void>((r) => {
      started = r;
    });
    running = h.runtime.run(
      id,
      { spec: specToStart(h, rec, launch), dir: h.records.path(id) },
      {
        stdio: io,
        onStdio: capture.onStdio,
        rootfsMount: launch.rootfsMount,
        init: launch.init,
        onNamespaces: (p) => attachAll(h, rec, p, extra),
        onStart: (p, startTime) => {
          rec.status = "running";
          rec.pid = p;
          rec.pidStartTime = startTime;
          rec.startedAt = new Date().toISOString();
          h.records.write(rec);
          started();
          onStart?.(id, p);
        },
      },
    );
    try {
      await Promise.race([ready, running]);
    } catch (err) {
      await failed(h, rec, err);
      throw asExecError(err);
    }
  });
  let exitCode: number;
  try {
    exitCode = await running!;
  } catch (err) {
    await h.records.locked(id, () => h.settle(id)).catch(() => {});
    throw asExecError(err);
  }
  const [o, e] = await capture.done();
  await h.records.locked(id, () => h.settle(id, { exitCode, signal: 0 })).catch(() => {});
  const buffers = output === "buffer";
  return {
    id,
    exitCode,
    signal: signalName(exitCode),
    stdout: buffers ? o : o.toString(),
    stderr: buffers ? e : e.toString(),
  };
}
