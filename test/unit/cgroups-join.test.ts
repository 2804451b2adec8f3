/**
 * exec joins a container's cgroup by the files joinFilesOf derives from its recorded paths
 * alone: the same as the cgroup module's joinFiles on a cgroup reopened from those paths, on
 * v1, hybrid and v2 layouts, with controllers mounted together.
 */
import { describe, expect, test } from "bun:test";
import { Cgroup } from "../../src/cgroups/cgroup.ts";
import { joinFilesOf } from "../../src/cgroups/join.ts";
import type { CgroupLayout } from "../../src/cgroups/layout.ts";

const layout = (v1: [string, string][], v2Root?: string): CgroupLayout => ({
  mode: v1.length === 0 ? "v2" : v2Root ? "hybrid" : "v1",
  v1: new Map(v1),
  v2Root,
  v2Controllers: [],
  mountRoots: new Map(),
});

const CASES: { name: string; layout: CgroupLayout; paths: Record<string, string> }[] = [
  {
    name: "v1, cpu and cpuacct mounted together",
    layout: layout([
      ["cpu", "/sys/fs/cgroup/cpu,cpuacct"],
      ["cpuacct", "/sys/fs/cgroup/cpu,cpuacct"],
      ["memory", "/sys/fs/cgroup/memory"],
      ["name=systemd", "/sys/fs/cgroup/systemd"],
    ]),
    paths: {
      cpu: "/sys/fs/cgroup/cpu,cpuacct/husk/c1",
      cpuacct: "/sys/fs/cgroup/cpu,cpuacct/husk/c1",
      memory: "/sys/fs/cgroup/memory/husk/c1",
      "name=systemd": "/sys/fs/cgroup/systemd/husk/c1",
    },
  },
  {
    name: "hybrid: v1 controllers and the cgroup2 tree",
    layout: layout(
      [
        ["pids", "/sys/fs/cgroup/pids"],
        ["freezer", "/sys/fs/cgroup/freezer"],
      ],
      "/sys/fs/cgroup/unified",
    ),
    paths: {
      pids: "/sys/fs/cgroup/pids/husk/c2",
      freezer: "/sys/fs/cgroup/freezer/husk/c2",
      "": "/sys/fs/cgroup/unified/husk/c2",
    },
  },
  { name: "v2 only", layout: layout([], "/sys/fs/cgroup"), paths: { "": "/sys/fs/cgroup/husk/c3" } },
  { name: "no cgroup (rootless)", layout: layout([], "/sys/fs/cgroup"), paths: {} },
];

describe("joinFilesOf: exec's cgroup join from the recorded paths", () => {
  for (const c of CASES) {
    test(c.name, () => {
      expect(joinFilesOf(c.paths)).toEqual(Cgroup.fromPaths(c.layout, c.paths).joinFiles());
    });
  }
  test("comounted controllers share one tasks file; the cgroup2 directory is no tasks file", () => {
    expect(joinFilesOf(CASES[0]!.paths).tasks).toHaveLength(3);
    expect(joinFilesOf(CASES[1]!.paths)).toEqual({
      tasks: ["/sys/fs/cgroup/pids/husk/c2/tasks", "/sys/fs/cgroup/freezer/husk/c2/tasks"],
      dir: "/sys/fs/cgroup/unified/husk/c2",
    });
  });
});
