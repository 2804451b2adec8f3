/**
 * A v1 cgroup directory that does not exist yet, for Cgroup.planSet: the writes set() would
 * make to it are recorded, in order, instead of made, for the helper's parent to make after its
 * mkdir (the plan's cgroupWrite ops). What set() looks at is answered as a fresh cgroup would
 * answer it: its knobs are its parent's (a v1 child has the files of the hierarchy's other
 * non-root cgroups), and the one value set() reads for an ordering, the memory limit, starts
 * unlimited. Anything else it would read, or a write whose outcome it inspects, cannot be known
 * ahead: NotPlannable, and the caller makes the cgroup itself (setUpCgroup).
 */
import { CgroupDir } from "./dir.ts";

/** set() needs something of the cgroup that only the made cgroup can tell. */
export class NotPlannable extends Error {}

/** One knob's values, each written in a write(2) of its own, on behalf of `origin` (an OCI field). */
export interface PlannedWrite {
  path: string;
  values: string[];
  origin: string;
}

const R = "linux.resources";

/** A fresh v1 cgroup's values that set() reads: its memory limit is the kernel's maximum. */
const FRESH: Readonly<Record<string, string>> = { "memory.limit_in_bytes": "9223372036854771712\n" };

/**
 * The knobs set() tries first and orders around a refusal (tryWrite): a fresh cgroup's quota
 * and memsw are unlimited, so the first try is the one that holds, and a refusal is the step's
 * error, named by its field. Kernel memory is not here: set() reads it back after the write.
 */
const TRIED: Readonly<Record<string, string>> = {
  "memory.limit_in_bytes": `${R}.memory.limit`,
  "cpu.cfs_period_us": `${R}.cpu.period`,
  "cpu.cfs_burst_us": `${R}.cpu.burst`,
  "cpu.rt_period_us": `${R}.cpu.realtimePeriod`,
};

export class PlannedDir extends CgroupDir {
  constructor(
    dir: CgroupDir,
    /** The parent directory, whose knobs the fresh one will have. */
    private readonly parent: string,
    private readonly writes: PlannedWrite[],
  ) {
    super(dir.fs, dir.path, dir.version);
  }

  /** cgroup2: a child's knobs are the controllers its parent's subtree_control hands down, not its parent's own. */
  private v1(): void {
    if (this.version !== 1) throw new NotPlannable();
  }

  override has(name: string): boolean {
    this.v1();
    // The parent may have gone (husk's default parent, which the helper makes again).
    if (!this.fs.exists(this.parent)) throw new NotPlannable();
    return this.fs.exists(`${this.parent}/${name}`);
  }

  override tryRead(): string | undefined {
    throw new NotPlannable();
  }

  override read(_what: string, name: string): string {
    this.v1();
    const fresh = FRESH[name];
    if (fresh === undefined) throw new NotPlannable();
    return fresh;
  }

  override tryWrite(name: string, value: string): string | undefined {
    this.v1();
    const origin = TRIED[name];
    if (origin === undefined) throw new NotPlannable();
    this.writes.push({ path: this.file(name), values: [value], origin });
    return undefined;
  }

  override write(what: string, name: string, value: string): void {
    this.v1();
    this.writes.push({ path: this.file(name), values: [value], origin: what });
  }

  override writeEach(what: string, name: string, values: readonly string[]): void {
    this.v1();
    this.writes.push({ path: this.file(name), values: [...values], origin: what });
  }
}
