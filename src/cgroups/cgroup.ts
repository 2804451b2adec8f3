/**
 * A container's cgroup: one directory in every hierarchy this machine has.
 *
 * Lifecycle, as the runtime drives it:
 *   create()  mkdir everywhere (v1: every controller hierarchy plus name=systemd, as runc
 *             joins it; v2/hybrid: the cgroup2 tree, delegating controllers on the way down)
 *   set(r)    write linux.resources (also what `update` calls, with only the changed fields)
 *   apply(p)  move the container's first process in; its children follow by inheritance
 *   freeze()/thaw()/pids()/killAll()  (stats: cgroupStats in stats.ts, loaded by who reads them)
 *   destroy() rmdir everywhere once the processes are gone
 *
 * `paths` (hierarchy key → directory, runc's cgroup_paths: "memory", "name=systemd", and ""
 * for the cgroup2 tree) is what the runtime stores in its state file; a later `husk delete`
 * reopens the same directories with Cgroup.fromPaths, whatever its own cgroup is.
 *
 * Ownership: a cgroupsPath may name a cgroup that already exists, with someone else's processes
 * in it. create() remembers which directories it made (`created`; the runtime records them, and
 * passes them back as `options.created` when it reopens), destroy() removes only those, and
 * `isOwn()` tells a cgroup that is the container's alone from one it shares.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hugePageSizes } from "./convert.ts";
import { CgroupDir } from "./dir.ts";
import { CgroupError, cgroupFsError, errCode } from "./errors.ts";
import { isFrozen } from "./freezer.ts";
import { type CgroupFs, nodeCgroupFs, sleep } from "./fsio.ts";
import { type CgroupLayout, parseProcCgroup } from "./layout.ts";
import { hierarchyDir } from "./paths.ts";
import { NotPlannable, PlannedDir, type PlannedWrite } from "./planned-dir.ts";
import type { LinuxResources } from "./resources.ts";
import { setResources } from "./set.ts";
import { validateResources, validateResourcesFor } from "./validate.ts";

/** The files through which a new process joins a cgroup by itself (see src/plan/cgroup.ts). */
export interface CgroupJoin {
  /** v1: the `tasks` file of the cgroup in each hierarchy. */
  tasks: string[];
  /** v2 (or hybrid's unified tree): the cgroup directory; "" when there is none. */
  dir: string;
}

/** An eBPF device program to attach to the cgroup2 directory `dir`. */
export interface DeviceFilter {
  dir: string;
  program: Uint8Array;
}

export interface CgroupOptions {
  /** File operations; tests pass a recording wrapper. */
  fs?: CgroupFs;
  /** Content of /proc/self/cgroup, for relative cgroupsPaths (read when needed if absent). */
  procSelfCgroup?: string;
  /** Where the kernel lists huge page sizes (default /sys/kernel/mm/hugepages). */
  hugePagesDir?: string;
  /**
   * The directories an earlier create() of this cgroup made (its `created`), when reopening it.
   * Without it, and before create(), every hierarchy's directory counts as made here.
   */
  created?: readonly string[];
}

/** What the helper's parent does for a fresh cgroup (Cgroup.planLeaves; the plan's cgroupMkdirs). */
export interface LeavesPlan {
  /** The cgroup's own directory in each hierarchy, to make. */
  dirs: string[];
  /** Parents whose freeze (v1 freezer, cgroup2) would stop a newcomer at once: refused first. */
  frozen: string[];
  /** cgroup2 parents to hand their controllers down. */
  delegate: string[];
  /** The v1 cpuset directory among dirs, its cpus and mems filled in from its parent's; "" for none. */
  cpuset: string;
}

interface Hierarchy {
  /** Controllers (or "name=systemd", or "" for cgroup2) this hierarchy carries. */
  keys: string[];
  /** Its mountpoint, when known; create() walks from here to make parents. */
  mountpoint?: string;
  dir: CgroupDir;
}

/**
 * Whether a process joining cgroup `d` now would stop at once: a v1 freezer's state (its
 * ancestors' freezing shows there too), or on cgroup2 its own freeze (`own`: when it may be set)
 * or an ancestor's, which cgroup.events reports.
 */
function stopsNewcomers(d: CgroupDir, keys: string[], own: boolean): boolean {
  if (d.version === 1) return keys.includes("freezer") && (d.tryRead("freezer.state") ?? "THAWED").trim() !== "THAWED";
  return (own && (d.tryRead("cgroup.freeze") ?? "0").trim() === "1") || /^frozen 1$/m.test(d.tryRead("cgroup.events") ?? "");
}

export class Cgroup {
  /** Hierarchy key → directory; store it to reopen this cgroup later. */
  readonly paths: Readonly<Record<string, string>>;
  private readonly fs: CgroupFs;
  private readonly hierarchies: Hierarchy[];
  /** Directories made by create() (or recorded so), in the order made; undefined: not tracked. */
  private made?: Set<string>;

  private constructor(
    readonly layout: CgroupLayout,
    hierarchies: Hierarchy[],
    private readonly options: CgroupOptions,
  ) {
    this.fs = options.fs ?? nodeCgroupFs;
    this.hierarchies = hierarchies;
    if (options.created) this.made = new Set(options.created);
    const paths: Record<string, string> = {};
    for (const h of hierarchies) for (const k of h.keys) paths[k] = h.dir.path;
    this.paths = paths;
  }

  /** The cgroup `inner` (from resolveCgroupPath) in every hierarchy of `layout`. */
  static open(layout: CgroupLayout, inner: string, options: CgroupOptions = {}): Cgroup {
    const cfs = options.fs ?? nodeCgroupFs;
    let own: Map<string, string> | undefined;
    const ownCgroup = (key: string): string | undefined => {
      if (inner.startsWith("/")) return undefined;
      own ??= parseProcCgroup(options.procSelfCgroup ?? fs.readFileSync("/proc/self/cgroup", "utf8"));
      return own.get(key);
    };
    const byMount = new Map<string, string[]>();
    for (const [key, mountpoint] of layout.v1) {
      // Named hierarchies other than systemd's belong to someone else.
      if (key.startsWith("name=") && key !== "name=systemd") continue;
      byMount.set(mountpoint, [...(byMount.get(mountpoint) ?? []), key]);
    }
    const hierarchies: Hierarchy[] = [];
    for (const [mountpoint, keys] of byMount) {
      const key = keys[0] as string;
      const dir = hierarchyDir(mountpoint, layout.mountRoots.get(key) ?? "/", inner, ownCgroup(key), false);
      hierarchies.push({ keys, mountpoint, dir: new CgroupDir(cfs, dir, 1) });
    }
    if (layout.v2Root !== undefined) {
      const dir = hierarchyDir(layout.v2Root, layout.mountRoots.get("") ?? "/", inner, ownCgroup(""), true);
      hierarchies.push({ keys: [""], mountpoint: layout.v2Root, dir: new CgroupDir(cfs, dir, 2) });
    }
    return new Cgroup(layout, hierarchies, options);
  }

  /** Reopen a cgroup from the `paths` a previous open() produced. */
  static fromPaths(layout: CgroupLayout, paths: Readonly<Record<string, string>>, options: CgroupOptions = {}): Cgroup {
    const cfs = options.fs ?? nodeCgroupFs;
    const byDir = new Map<string, Hierarchy>();
    for (const [key, dir] of Object.entries(paths)) {
      const known = byDir.get(dir);
      if (known) {
        known.keys.push(key);
        continue;
      }
      const mountpoint = key === "" ? layout.v2Root : layout.v1.get(key);
      byDir.set(dir, { keys: [key], mountpoint, dir: new CgroupDir(cfs, dir, key === "" ? 2 : 1) });
    }
    return new Cgroup(layout, [...byDir.values()], options);
  }

  private v1(key: string): CgroupDir | undefined {
    return this.hierarchies.find((h) => h.dir.version === 1 && h.keys.includes(key))?.dir;
  }

  private get v2(): CgroupDir | undefined {
    return this.hierarchies.find((h) => h.dir.version === 2)?.dir;
  }

  /** Where `controller` lives for this cgroup: its v1 hierarchy, else the cgroup2 tree. */
  home(controller: string): CgroupDir | undefined {
    if (this.layout.v1.has(controller)) return this.v1(controller);
    return this.layout.v2Controllers.includes(controller) ? this.v2 : undefined;
  }

  exists(): boolean {
    return this.hierarchies.some((h) => this.fs.exists(h.dir.path));
  }

  /**
   * The directories create() would make now: every level, parents included, that does not
   * exist yet. The runtime records them before calling create(), so that a runtime killed
   * halfway through leaves a record of everything it may have made.
   */
  missing(): string[] {
    const out: string[] = [];
    for (const h of this.hierarchies) {
      const levels = this.levels(h);
      for (const [i, dir] of levels.entries()) {
        if (i === 0 && h.mountpoint !== undefined) continue;
        if (!out.includes(dir) && !this.fs.exists(dir)) out.push(dir);
      }
    }
    return out;
  }

  /** The directories this cgroup's create() made (or was told it made), parents first. */
  get created(): string[] {
    return [...(this.made ?? [])];
  }

  /**
   * Whether every hierarchy's directory was made by this cgroup's create(): then every process
   * in it is the container's. Otherwise the cgroup is shared with whoever made it.
   */
  isOwn(): boolean {
    return this.made === undefined || this.hierarchies.every((h) => this.made?.has(h.dir.path));
  }

  /**
   * The cgroup's own directory in each hierarchy when all of them are this cgroup's (isOwn):
   * what may be removed once its processes are gone; none for a shared cgroup.
   */
  ownLeaves(): string[] {
    return this.isOwn() ? [...new Set(this.hierarchies.map((h) => h.dir.path))] : [];
  }

  /**
   * The cgroup's own directory in each hierarchy, where it does not exist yet: what
   * createLeaves() may make. The runtime records them before it calls createLeaves().
   */
  missingLeaves(): string[] {
    const out: string[] = [];
    for (const h of this.hierarchies) if (!out.includes(h.dir.path) && !this.fs.exists(h.dir.path)) out.push(h.dir.path);
    return out;
  }

  /**
   * mkdir the cgroup's own directory in every hierarchy whose parent is there (nearly always:
   * husk's /husk is made by the first container), with what a new directory needs from its
   * parent (cpuset's cpus and mems, cgroup2's delegated controllers). False if a parent is
   * missing somewhere: create() then makes the rest, after the caller has recorded missing().
   * Each level of a walk from the mountpoint costs a mkdir and, for cpuset and cgroup2, reads
   * of the level: ~30 syscalls per container on a hybrid host, a third of its cgroup's cost.
   */
  createLeaves(): boolean {
    this.made ??= new Set();
    let all = true;
    for (const h of this.hierarchies) {
      const levels = this.levels(h);
      if (levels.length < 2 || !this.mkdirLeaf(h)) {
        all = false;
        continue;
      }
      const parent = levels[levels.length - 2] as string;
      if (h.keys.includes("cpuset")) this.inheritCpuset(h.dir.path, parent);
      if (h.dir.version === 2) this.delegate(parent);
    }
    return all;
  }

  /**
   * A fresh cgroup (its directories cannot exist yet: the engine's, named by a new random id) to
   * be made by the helper's parent (the plan's cgroupMkdirs op) instead of on this thread: its
   * own directory in each hierarchy, and what the helper looks at and fills in around them (see
   * LeavesPlan). Nothing is read here when `parentsRemade` (husk's default parent, which the
   * helper makes again if it has gone); otherwise undefined, with nothing done, when a parent is
   * missing (then createLeaves or create does it all here). The directories count as made by
   * this cgroup from here on (see ownLeaves).
   */
  planLeaves(parentsRemade = false): LeavesPlan | undefined {
    const plan: LeavesPlan = { dirs: [], frozen: [], delegate: [], cpuset: "" };
    for (const h of this.hierarchies) {
      const parent = this.levels(h).at(-2);
      if (parent === undefined || (!parentsRemade && !this.fs.exists(parent))) return undefined;
      if (!plan.dirs.includes(h.dir.path)) plan.dirs.push(h.dir.path);
      if (h.dir.version === 2) plan.delegate.push(parent);
      // Where a freeze shows: a v1 freezer's state (its ancestors' too), and cgroup2's.
      if (h.dir.version === 2 || h.keys.includes("freezer")) plan.frozen.push(parent);
      if (h.keys.includes("cpuset")) plan.cpuset = h.dir.path;
    }
    this.made = new Set(plan.dirs);
    return plan;
  }

  /** mkdir in every hierarchy, parents included. Idempotent. */
  create(): void {
    this.made ??= new Set();
    for (const h of this.hierarchies) {
      // A parent shared with other containers (husk's default /husk) can be removed by the
      // last one's delete between our mkdir of it and of the child: walk down again.
      for (let attempt = 1; !this.createIn(h, attempt < 5); attempt++);
    }
  }

  /** mkdir every level of one hierarchy; false if a parent vanished and `retry` allows another walk. */
  private createIn(h: Hierarchy, retry: boolean): boolean {
    const levels = this.levels(h);
    // A v1 hierarchy other than cpuset needs nothing of a level that is there already, and the
    // parents nearly always are (husk's /husk is made by the first container): the cgroup's own
    // mkdir first, and the walk from the top only when a parent is missing. cpuset (each level's
    // cpus and mems filled in) and cgroup2 (each parent's controllers delegated) walk every time.
    if (h.dir.version === 1 && !h.keys.includes("cpuset") && levels.length > 1 && this.mkdirLeaf(h)) return true;
    for (let i = 0; i < levels.length; i++) {
      const dir = levels[i] as string;
      const parent = i > 0 ? levels[i - 1] : undefined;
      if (parent !== undefined && h.dir.version === 2) this.delegate(parent);
      if (i === 0 && h.mountpoint !== undefined) continue;
      let madeHere: boolean;
      try {
        madeHere = this.fs.mkdir(dir);
        if (madeHere) this.made?.add(dir);
      } catch (err) {
        if (retry && errCode(err) === "ENOENT" && i > 0) return false;
        throw cgroupFsError(err, `create cgroup ${h.dir.path}`, `mkdir ${dir}`);
      }
      if (parent !== undefined && h.keys.includes("cpuset")) {
        this.inheritCpuset(dir, parent);
        // A parent level made here (husk's /husk) hands its cpus and mems to each new child
        // itself, so a container's leaf finds them filled in: inheritCpuset's one read, not a
        // read of the parent and two writes, per container.
        if (madeHere && i < levels.length - 1) new CgroupDir(this.fs, dir, 1).tryWrite("cgroup.clone_children", "1");
      }
    }
    return true;
  }

  /** mkdir the cgroup's own directory in `h`; false if its parent is missing (walk from the top). */
  private mkdirLeaf(h: Hierarchy): boolean {
    try {
      if (this.fs.mkdir(h.dir.path)) this.made?.add(h.dir.path);
      return true;
    } catch (err) {
      if (errCode(err) === "ENOENT") return false;
      throw cgroupFsError(err, `create cgroup ${h.dir.path}`, `mkdir ${h.dir.path}`);
    }
  }

  /** The mountpoint (when known) and every directory below it down to the cgroup. */
  private levels(h: Hierarchy): string[] {
    const mp = h.mountpoint;
    if (mp === undefined || !h.dir.path.startsWith(`${mp}/`)) return [h.dir.path];
    const out = [mp];
    for (const part of h.dir.path.slice(mp.length + 1).split("/")) out.push(`${out[out.length - 1]}/${part}`);
    return out;
  }

  /**
   * cgroup2 hands a controller to children only through the parent's subtree_control. Enable
   * every controller the parent has, as runc does, so later updates find their files; one that
   * cannot be enabled (e.g. the parent holds processes) is reported by set() when used.
   */
  private delegate(parent: string): void {
    const d = new CgroupDir(this.fs, parent, 2);
    const available = (d.tryRead("cgroup.controllers") ?? "").split(/\s+/).filter(Boolean);
    const enabled = new Set((d.tryRead("cgroup.subtree_control") ?? "").split(/\s+/));
    const missing = available.filter((c) => !enabled.has(c));
    if (missing.length === 0) return;
    if (d.tryWrite("cgroup.subtree_control", missing.map((c) => `+${c}`).join(" ")) === undefined) return;
    for (const c of missing) d.tryWrite("cgroup.subtree_control", `+${c}`);
  }

  /**
   * A new v1 cpuset starts with empty cpus and mems and refuses tasks until both are set;
   * copy them from the parent, as runc does, at every level we pass.
   */
  private inheritCpuset(dir: string, parent: string): void {
    const child = new CgroupDir(this.fs, dir, 1);
    const up = new CgroupDir(this.fs, parent, 1);
    for (const k of ["cpus", "mems"]) {
      // The files' names lack the prefix only where the hierarchy is mounted with noprefix.
      let file = `cpuset.${k}`;
      let value = child.tryRead(file);
      if (value === undefined && child.has(k)) {
        file = k;
        value = child.tryRead(k);
      }
      if ((value ?? "").trim() !== "") continue;
      child.write(`create cgroup ${dir}`, file, up.read(`create cgroup ${dir}`, file).trim());
    }
  }

  /**
   * The files a new process uses to join this cgroup by itself (see src/plan/cgroup.ts): each v1
   * hierarchy's `tasks`, and the v2 directory. With `sub` (runc's `exec --cgroup`), those of
   * sub-cgroups: it maps a v1 controller, or "" (every controller not named, and cgroup2), to a
   * relative path under this cgroup.
   */
  joinFiles(sub?: ReadonlyMap<string, string>): CgroupJoin {
    const dirOf = (h: Hierarchy) => {
      const rel = sub && (h.keys.map((k) => sub.get(k)).find((p) => p !== undefined) ?? sub.get(""));
      return rel ? `${h.dir.path}/${rel}` : h.dir.path;
    };
    const tasks = this.hierarchies.filter((h) => h.dir.version === 1).map((h) => `${dirOf(h)}/tasks`);
    const v2 = this.hierarchies.find((h) => h.dir.version === 2);
    return { tasks, dir: v2 ? dirOf(v2) : "" };
  }

  /** Move process `pid` into this cgroup in every hierarchy. */
  apply(pid: number): void {
    for (const h of this.hierarchies) h.dir.write(`add process ${pid} to cgroup ${h.dir.path}`, "cgroup.procs", String(pid));
  }

  /**
   * Apply `linux.resources`. Everything is validated before the first write. Returns
   * warnings for settings the kernel cannot honour but that the spec treats as optional
   * (deprecated kernel memory limits), and on cgroup v2 the device filter that only a
   * process able to call bpf() can attach (see device-filter.ts; the helper does it).
   */
  set(resources: LinuxResources): { warnings: string[]; deviceFilter?: DeviceFilter } {
    validateResources(resources);
    validateResourcesFor(this.layout.mode, resources);
    const warnings: string[] = [];
    let deviceFilter: DeviceFilter | undefined;
    const unified = this.v2;
    setResources(
      {
        home: (c) => this.home(c),
        devicesV1: this.v1("devices"),
        unified,
        hugePageSizes: () => hugePageSizes(this.options.hugePagesDir),
        warn: (m) => warnings.push(m),
        deviceFilter: (program) => {
          if (unified) deviceFilter = { dir: unified.path, program };
        },
      },
      resources,
    );
    return { warnings, deviceFilter };
  }

  /**
   * set()'s writes for this cgroup before any of it exists, in set()'s order, for the helper's
   * parent to make after its mkdirs (a fresh cgroup: see PlannedDir); on cgroup2 the device
   * filter too. Validation errors throw as set()'s do. Undefined where only the made cgroup can
   * tell (a cgroup2 knob, a read set() needs, a warning it would give): the caller makes it
   * and calls set() itself.
   */
  planSet(resources: LinuxResources): { writes: PlannedWrite[]; deviceFilter?: DeviceFilter } | undefined {
    const writes: PlannedWrite[] = [];
    const hierarchies: Hierarchy[] = [];
    for (const h of this.hierarchies) {
      const levels = this.levels(h);
      // Below a hierarchy's root: the root cgroup lacks knobs its children have (pids.max).
      if (h.dir.version === 1 && levels.length < 3) return undefined;
      hierarchies.push({ ...h, dir: new PlannedDir(h.dir, levels.at(-2) ?? "", writes) });
    }
    try {
      const { warnings, deviceFilter } = new Cgroup(this.layout, hierarchies, this.options).set(resources);
      return warnings.length > 0 ? undefined : { writes, deviceFilter };
    } catch (err) {
      if (err instanceof NotPlannable) return undefined;
      throw err;
    }
  }

  /** The freezer: v1's freezer controller if mounted (also on hybrid), else cgroup.freeze. */
  private freezer(what: string): CgroupDir {
    const d = this.v1("freezer") ?? (this.layout.v1.has("freezer") ? undefined : this.v2);
    if (!d) throw new CgroupError(what, "no freezer: neither the v1 freezer controller nor cgroup v2 is available");
    return d;
  }

  /** Freeze every process, resolving once the kernel reports them all frozen. */
  async freeze(): Promise<void> {
    const what = `freeze cgroup ${this.hierarchies[0]?.dir.path ?? ""}`;
    const d = this.freezer(what);
    try {
      if (d.version === 2) {
        d.write(what, "cgroup.freeze", "1");
        // cgroup.events says "frozen 1" once every task has stopped.
        for (let i = 0; i < 1000; i++) {
          if (/^frozen 1$/m.test(d.read(what, "cgroup.events"))) return;
          await sleep(10);
        }
        throw new CgroupError(what, "timed out after 10s waiting for cgroup.events to report frozen");
      }
      // v1: FREEZING can stall on a task that keeps forking or sleeps uninterruptibly in the
      // kernel; re-writing FROZEN retries it, and a brief thaw now and then breaks the stall
      // (runc's loop).
      for (let i = 0; i < 1000; i++) {
        if (i % 50 === 49) {
          d.write(what, "freezer.state", "THAWED");
          await sleep(10);
        }
        d.write(what, "freezer.state", "FROZEN");
        if (i % 25 === 24) await sleep(1);
        const state = d.read(what, "freezer.state").trim();
        if (state === "FROZEN") return;
        if (state !== "FREEZING") throw new CgroupError(what, `unexpected freezer.state ${state}`);
      }
      throw new CgroupError(what, "the cgroup did not freeze (stuck in FREEZING)");
    } catch (err) {
      d.tryWrite(d.version === 2 ? "cgroup.freeze" : "freezer.state", d.version === 2 ? "0" : "THAWED");
      throw err;
    }
  }

  thaw(): void {
    const what = `thaw cgroup ${this.hierarchies[0]?.dir.path ?? ""}`;
    const d = this.freezer(what);
    if (d.version === 2) d.write(what, "cgroup.freeze", "0");
    else d.write(what, "freezer.state", "THAWED");
  }

  /** Whether this cgroup itself was frozen (not merely a frozen parent). */
  frozen(): boolean {
    const what = `read freezer state of ${this.hierarchies[0]?.dir.path ?? ""}`;
    return isFrozen(this.freezer(what), what);
  }

  /**
   * Where a process joining now would stop at once, or undefined: the directory of a hierarchy
   * in which this cgroup or an ancestor is frozen or freezing (the v1 freezer, or the cgroup2
   * tree; on hybrid either can be).
   */
  frozenForNewcomers(): string | undefined {
    for (const h of this.hierarchies) {
      // A cgroup2 directory made here has cgroup.freeze 0: only a frozen ancestor can stop it.
      if (stopsNewcomers(h.dir, h.keys, this.made?.has(h.dir.path) !== true)) return h.dir.path;
    }
    return undefined;
  }

  /**
   * Processes in the hierarchies whose directory this cgroup did not make: someone else's,
   * there before the container (runc warns about them). Every such hierarchy is read, so a
   * process in only one of them is found too.
   */
  sharedPids(): number[] {
    const seen = new Set<number>();
    for (const h of this.hierarchies) {
      if (this.made === undefined || this.made.has(h.dir.path)) continue;
      for (const pid of this.pidsBelow(h.dir.path, h.dir.path)) seen.add(pid);
    }
    return [...seen];
  }

  /** Every process in this cgroup and its descendants. */
  pids(): number[] {
    const ref =
      (this.layout.mode === "v2" ? this.v2 : undefined) ??
      ["pids", "devices", "freezer", "memory", "cpu"].map((k) => this.v1(k)).find((d) => d !== undefined) ??
      this.hierarchies[0]?.dir;
    if (!ref) return [];
    return this.pidsBelow(ref.path, ref.path);
  }

  /** The processes of `dir` and of the cgroups below it; `top` names the cgroup in errors. */
  private pidsBelow(dir: string, top: string): number[] {
    let procs: string;
    try {
      procs = this.fs.readFile(`${dir}/cgroup.procs`);
    } catch (err) {
      if (errCode(err) === "ENOENT") return [];
      throw cgroupFsError(err, `list processes of cgroup ${top}`, `read ${dir}/cgroup.procs`);
    }
    const out = new Set<number>();
    for (const p of procs.split("\n")) if (p.trim() !== "") out.add(Number(p));
    for (const sub of this.subdirs(dir)) for (const p of this.pidsBelow(`${dir}/${sub}`, top)) out.add(p);
    return [...out];
  }

  private subdirs(dir: string): string[] {
    try {
      return this.fs.subdirs(dir);
    } catch (err) {
      if (errCode(err) === "ENOENT") return [];
      throw err;
    }
  }

  /** The huge page sizes this machine offers ("2MB", "1GB"), for hugetlb limits and stats. */
  hugePageSizes(): string[] {
    return hugePageSizes(this.options.hugePagesDir);
  }

  /**
   * Send `signal` to every process (`kill --all`, `delete --force`). On pure v2, SIGKILL goes
   * through cgroup.kill, which the kernel applies atomically, forks included. Otherwise the
   * cgroup is frozen while the list is read and signalled, so nothing forks past the list
   * (runc's approach), and thawed afterwards — signals to frozen tasks are delivered on thaw.
   * A container that was paused stays paused unless the signal is SIGKILL.
   */
  async killAll(signal: NodeJS.Signals | number = "SIGKILL"): Promise<void> {
    const isKill = signal === "SIGKILL" || signal === 9;
    const v2 = this.v2;
    if (isKill && this.layout.mode === "v2" && v2?.has("cgroup.kill")) {
      v2.write(`kill processes of cgroup ${v2.path}`, "cgroup.kill", "1");
      return;
    }
    // An empty cgroup (usually: the init took its pid namespace along) has no one to fork:
    // no freeze and thaw for nothing.
    if (this.pids().length === 0) return;
    let wasFrozen = false;
    let froze = false;
    try {
      wasFrozen = this.frozen();
      if (!wasFrozen) {
        await this.freeze();
        froze = true;
      }
    } catch {
      // No freezer, or it failed: signal without it, racing new forks as kill(1) would.
    }
    try {
      for (const pid of this.pids()) {
        try {
          process.kill(pid, signal);
        } catch (err) {
          if (errCode(err) !== "ESRCH") throw cgroupFsError(err, `signal process ${pid}`, `kill ${pid}`);
        }
      }
    } finally {
      if (froze || (wasFrozen && isKill)) {
        try {
          this.thaw();
        } catch {
          // The cgroup may already be gone with its last process.
        }
      }
    }
  }

  /**
   * Remove the cgroup (and any sub-cgroups the container made) from every hierarchy where
   * create() made it; a directory that was there before is someone else's and stays. A
   * cgroup whose processes were just killed stays busy until they are reaped, so EBUSY is
   * retried for about a second (one budget for all hierarchies). Missing directories are
   * fine. Every hierarchy is attempted; the first failure is thrown. Parents create() made
   * are left: others may have made cgroups below them meanwhile.
   */
  async destroy(): Promise<void> {
    const dirs = this.hierarchies.map((h) => h.dir.path).filter((d) => this.made === undefined || this.made.has(d));
    let pending = [...new Set(dirs)];
    let first: CgroupError | undefined;
    for (let attempt = 0, delay = 10; pending.length > 0; attempt++, delay *= 2) {
      const busy: string[] = [];
      for (const dir of pending) {
        try {
          this.removeTree(dir);
        } catch (err) {
          if (errCode(err) === "EBUSY" && attempt < 7) busy.push(dir);
          else if (errCode(err) === "EBUSY") first ??= new CgroupError(`remove cgroup ${dir}`, "it still has processes", "EBUSY");
          else first ??= cgroupFsError(err, `remove cgroup ${dir}`, "rmdir");
        }
      }
      pending = busy;
      if (pending.length > 0) await sleep(delay);
    }
    if (first) throw first;
  }

  /**
   * rmdir in every hierarchy where create() made it, as destroy() does, without a wait: false at
   * the first directory that refuses (processes in it), the rest left for killAll() and
   * destroy(). A container whose init had its own pid namespace left nobody behind: its cgroup
   * goes without a look at its processes first.
   */
  removeIfEmpty(): boolean {
    for (const h of this.hierarchies) {
      if (this.made !== undefined && !this.made.has(h.dir.path)) continue;
      try {
        this.removeTree(h.dir.path);
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * rmdir first: a cgroup with sub-cgroups refuses with EBUSY, and only then are they looked
   * for (listing every hierarchy's directory first cost `run` and `delete` ~1 ms for nothing).
   */
  private removeTree(dir: string): void {
    try {
      this.fs.rmdir(dir);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code === "ENOENT") return;
      if (code !== "EBUSY" && code !== "ENOTEMPTY") throw err;
      const subs = this.subdirs(dir);
      if (subs.length === 0) throw err;
      for (const sub of subs) this.removeTree(path.posix.join(dir, sub));
    }
    try {
      this.fs.rmdir(dir);
    } catch (err) {
      if (errCode(err) !== "ENOENT") throw err;
    }
  }
}

export function openCgroup(layout: CgroupLayout, inner: string, options: CgroupOptions = {}): Cgroup {
  return Cgroup.open(layout, inner, options);
}
