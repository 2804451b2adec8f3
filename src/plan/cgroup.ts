/**
 * Cgroup steps: the helper's parent opens the container's cgroup files while it still sees the
 * host (before any setns), and the new process joins by itself as its first act. Neither side
 * writes a pid to cgroup.procs: that write takes the kernel's global threadgroup lock, whose
 * RCU grace period was the largest single cost of starting a container (~20 ms measured).
 * v2 places the child with clone3(CLONE_INTO_CGROUP); v1 has it write "0" to `tasks`.
 */
import type { CgroupJoin, DeviceFilter } from "../cgroups/cgroup.ts";
import type { CgroupMake } from "./context.ts";
import type { Step } from "./ops.ts";

export interface CgroupSteps {
  /** In the helper's parent, before any namespace is joined. */
  open: Step[];
  /** In the child, right after clone. */
  join: Step[];
}

/** Attach cgroup v2's device filter: before the container process exists, or on update. */
export function planDeviceFilter(filter: DeviceFilter): Step {
  return {
    what: `attach the device filter to cgroup ${filter.dir}`,
    origin: "linux.resources.devices",
    op: { op: "deviceFilter", dir: filter.dir, program: filter.program },
  };
}

/** Make a fresh cgroup in the helper's parent: its directories, then what each needs written. */
export function planCgroupMake(make: CgroupMake): Step[] {
  const steps: Step[] = [
    {
      what: "make the container's cgroup",
      origin: "linux.cgroupsPath",
      // A refusal's detail: a directory, a frozen parent, or the cpuset (native/cgroup.c).
      parts: [
        ...make.dirs.map((d) => `mkdir ${d}`),
        ...make.frozen.map((d) => `join cgroup ${d}`),
        ...(make.cpuset ? [`copy cpuset.cpus and cpuset.mems to ${make.cpuset} from its parent`] : []),
      ],
      errors: { EBUSY: "container's cgroup unexpectedly frozen" },
      op: {
        op: "cgroupMkdirs",
        dirs: make.dirs,
        parents: make.parents,
        frozen: make.frozen,
        delegate: make.delegate,
        cpuset: make.cpuset,
      },
    },
  ];
  for (const w of make.writes)
    steps.push({
      what: `write ${w.path}`,
      origin: w.origin,
      parts: w.values.map((v) => JSON.stringify(v)),
      op: { op: "cgroupWrite", path: w.path, values: w.values },
    });
  return steps;
}

export function planCgroupJoin(join: CgroupJoin | undefined, filter?: DeviceFilter, make?: CgroupMake): CgroupSteps {
  const open = [...(make ? planCgroupMake(make) : []), ...(filter ? [planDeviceFilter(filter)] : [])];
  if (!join || (join.tasks.length === 0 && join.dir === "")) return { open, join: [] };
  const where = [...join.tasks, ...(join.dir ? [join.dir] : [])].join(", ");
  open.push({ what: `open the container's cgroup (${where})`, origin: "linux.cgroupsPath", op: { op: "openCgroup", ...join } });
  return {
    open,
    join: [{ what: "join the container's cgroup", origin: "linux.cgroupsPath", op: { op: "joinCgroup" } }],
  };
}
