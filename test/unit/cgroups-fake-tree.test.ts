// The Cgroup class against fake cgroup trees in a temp dir, for v1, v2 and hybrid layouts.
// A small kernel emulation (FakeKernel) fills each new directory with the files the kernel
// would create, keeps cgroup.subtree_control and cgroup.events consistent, and records every
// write so the tests can assert on file contents and on write order. No root needed.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Cgroup,
  CgroupError,
  type CgroupFs,
  type CgroupLayout,
  cgroupStats,
  defaultDeviceRules,
  detectCgroupLayout,
  nodeCgroupFs,
  openCgroup,
  runDeviceFilter,
  statsToJSON,
} from "../../src/cgroups/index.ts";

const base = { "cgroup.procs": "", tasks: "", notify_on_release: "0", "cgroup.clone_children": "0\n" };

const v1Files: Record<string, Record<string, string>> = {
  "cpu,cpuacct": {
    "cpu.shares": "1024\n",
    "cpu.cfs_period_us": "100000\n",
    "cpu.cfs_quota_us": "-1\n",
    "cpu.cfs_burst_us": "0\n",
    "cpu.idle": "0\n",
    "cpu.rt_period_us": "1000000\n",
    "cpu.rt_runtime_us": "0\n",
    "cpu.stat": "nr_periods 4\nnr_throttled 1\nthrottled_time 777\n",
    "cpuacct.usage": "5000\n",
    "cpuacct.usage_percpu": "3000 2000 \n",
    "cpuacct.stat": "user 3\nsystem 1\n",
    "cpuacct.usage_all": "cpu user system\n0 2000 1000\n1 1500 500\n",
  },
  cpuset: { "cpuset.cpus": "\n", "cpuset.mems": "\n", "cpuset.cpu_exclusive": "0\n", "cpuset.sched_load_balance": "1\n" },
  memory: {
    "memory.limit_in_bytes": "9223372036854771712\n",
    "memory.memsw.limit_in_bytes": "9223372036854771712\n",
    "memory.soft_limit_in_bytes": "9223372036854771712\n",
    "memory.kmem.limit_in_bytes": "9223372036854771712\n",
    "memory.kmem.tcp.limit_in_bytes": "9223372036854771712\n",
    "memory.swappiness": "60\n",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n",
    "memory.use_hierarchy": "1\n",
    "memory.usage_in_bytes": "4096\n",
    "memory.max_usage_in_bytes": "8192\n",
    "memory.failcnt": "0\n",
    "memory.memsw.usage_in_bytes": "4096\n",
    "memory.stat": "cache 100\nrss 200\n",
  },
  devices: { "devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n" },
  freezer: { "freezer.state": "THAWED\n", "freezer.self_freezing": "0\n" },
  blkio: {
    "blkio.bfq.weight": "100\n",
    "blkio.bfq.weight_device": "",
    "blkio.throttle.read_bps_device": "",
    "blkio.throttle.write_bps_device": "",
    "blkio.throttle.read_iops_device": "",
    "blkio.throttle.write_iops_device": "",
    "blkio.throttle.io_service_bytes_recursive": "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n",
    "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
  },
  pids: { "pids.max": "max\n", "pids.current": "1\n" },
  hugetlb: {
    "hugetlb.2MB.limit_in_bytes": "9223372036854771712\n",
    "hugetlb.2MB.usage_in_bytes": "0\n",
    "hugetlb.2MB.max_usage_in_bytes": "0\n",
    "hugetlb.2MB.failcnt": "0\n",
  },
  net_cls: { "net_cls.classid": "0\n" },
  systemd: {},
};

const v2Core = {
  "cgroup.procs": "",
  "cgroup.subtree_control": "\n",
  "cgroup.freeze": "0\n",
  "cgroup.events": "populated 0\nfrozen 0\n",
  "cgroup.kill": "",
  "cgroup.type": "domain\n",
};

const v2Files: Record<string, Record<string, string>> = {
  cpu: {
    "cpu.weight": "100\n",
    "cpu.max": "max 100000\n",
    "cpu.max.burst": "0\n",
    "cpu.idle": "0\n",
    "cpu.stat": "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\n",
  },
  cpuset: { "cpuset.cpus": "\n", "cpuset.mems": "\n", "cpuset.cpus.effective": "0-3\n", "cpuset.mems.effective": "0\n" },
  memory: {
    "memory.max": "max\n",
    "memory.low": "0\n",
    "memory.high": "max\n",
    "memory.swap.max": "max\n",
    "memory.current": "4096\n",
    "memory.peak": "8192\n",
    "memory.swap.current": "0\n",
    "memory.stat": "anon 10\nfile 7\n",
    "memory.events": "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n",
  },
  io: { "io.weight": "default 100\n", "io.max": "", "io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n" },
  pids: { "pids.max": "max\n", "pids.current": "1\n" },
  hugetlb: {
    "hugetlb.2MB.max": "max\n",
    "hugetlb.2MB.rsvd.max": "max\n",
    "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 3\n",
    "hugetlb.1GB.max": "max\n",
  },
};

function err(code: string): NodeJS.ErrnoException {
  const e = new Error(code) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = -(os.constants.errno as Record<string, number>)[code]!;
  return e;
}

/** Real files in a temp dir, plus the bits of kernel behaviour the module relies on. */
class FakeKernel implements CgroupFs {
  /** Every write, as "<path relative to root>: <data>". */
  writes: string[] = [];
  /** Errno codes to throw, in turn, for writes to / rmdirs of a path ending with the key. */
  failWrite = new Map<string, string[]>();
  failRmdir = new Map<string, string[]>();
  rmdirCalls = 0;

  constructor(
    readonly root: string,
    private readonly v1: Map<string, Record<string, string>>,
    private readonly v2Root?: string,
  ) {}

  private fail(map: Map<string, string[]>, p: string): void {
    for (const [suffix, codes] of map) {
      if (p.endsWith(suffix) && codes.length > 0) throw err(codes.shift()!);
    }
  }

  readFile(p: string): string {
    return nodeCgroupFs.readFile(p);
  }

  writeFile(p: string, data: string): void {
    this.fail(this.failWrite, p);
    this.writes.push(`${path.relative(this.root, p)}: ${data}`);
    const name = path.basename(p);
    const dir = path.dirname(p);
    if (name === "cgroup.subtree_control") {
      const available = this.readFile(`${dir}/cgroup.controllers`).split(/\s+/);
      const enabled = new Set(this.readFile(p).split(/\s+/).filter(Boolean));
      for (const tok of data.split(/\s+/)) {
        if (!available.includes(tok.slice(1))) throw err("EINVAL");
        if (tok.startsWith("+")) enabled.add(tok.slice(1));
        else enabled.delete(tok.slice(1));
      }
      nodeCgroupFs.writeFile(p, `${[...enabled].join(" ")}\n`);
      return;
    }
    nodeCgroupFs.writeFile(p, data);
    if (name === "cgroup.freeze") fs.writeFileSync(`${dir}/cgroup.events`, `populated 1\nfrozen ${data.trim()}\n`);
    if (name === "freezer.state") fs.writeFileSync(`${dir}/freezer.self_freezing`, data === "FROZEN" ? "1\n" : "0\n");
  }

  exists(p: string): boolean {
    return nodeCgroupFs.exists(p);
  }

  mkdir(p: string): boolean {
    const created = nodeCgroupFs.mkdir(p);
    if (!created) return false;
    for (const [mp, files] of this.v1) {
      if (!p.startsWith(`${mp}/`)) continue;
      populate(p, { ...base, ...files });
      // As the kernel's cpuset does: a parent with clone_children hands its cpus and mems down.
      const parent = path.dirname(p);
      if (fs.existsSync(`${p}/cpuset.cpus`) && this.readFile(`${parent}/cgroup.clone_children`).trim() === "1")
        for (const f of ["cpuset.cpus", "cpuset.mems"]) fs.writeFileSync(`${p}/${f}`, this.readFile(`${parent}/${f}`));
    }
    if (this.v2Root && p.startsWith(`${this.v2Root}/`)) {
      const delegated = this.readFile(`${path.dirname(p)}/cgroup.subtree_control`)
        .split(/\s+/)
        .filter(Boolean);
      populate(p, { ...v2Core, "cgroup.controllers": `${delegated.join(" ")}\n` });
      for (const c of delegated) populate(p, v2Files[c] ?? {});
    }
    return true;
  }

  rmdir(p: string): void {
    this.rmdirCalls++;
    this.fail(this.failRmdir, p);
    if (this.subdirs(p).length > 0) throw err("EBUSY");
    if (fs.existsSync(`${p}/cgroup.procs`) && this.readFile(`${p}/cgroup.procs`).trim() !== "") throw err("EBUSY");
    if (!fs.existsSync(p)) throw err("ENOENT");
    fs.rmSync(p, { recursive: true });
  }

  subdirs(p: string): string[] {
    return nodeCgroupFs.subdirs(p);
  }
}

function populate(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(`${dir}/${name}`, content);
}

interface Fake {
  layout: CgroupLayout;
  kernel: FakeKernel;
  open(inner?: string, procSelfCgroup?: string): Cgroup;
  read(rel: string): string;
  hugePagesDir: string;
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "husk-cgroups-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Build a fake machine. v1 hierarchies are given by mount dir name ("cpu,cpuacct", "memory",
 * "systemd" for name=systemd); `v2` lists the controllers the cgroup2 root offers.
 */
function machine(v1: string[], v2?: string[]): Fake {
  const lines: string[] = [];
  const v1Mounts = new Map<string, Record<string, string>>();
  let id = 40;
  for (const name of v1) {
    const mp = `${tmp}/fs/${name}`;
    const files: Record<string, string> = { ...base, ...v1Files[name] };
    if (name === "cpuset") Object.assign(files, { "cpuset.cpus": "0-3\n", "cpuset.mems": "0\n" });
    populate(mp, files);
    v1Mounts.set(mp, v1Files[name] ?? {});
    const opts = name === "systemd" ? "name=systemd" : name;
    lines.push(`${id++} 31 0:${id} / ${mp} rw,relatime - cgroup cgroup rw,${opts}`);
  }
  let v2Root: string | undefined;
  if (v2) {
    v2Root = v1.length > 0 ? `${tmp}/fs/unified` : `${tmp}/fs`;
    populate(v2Root, { ...v2Core, "cgroup.controllers": `${v2.join(" ")}\n` });
    lines.push(`${id++} 31 0:${id} / ${v2Root} rw,relatime - cgroup2 cgroup2 rw`);
  }
  const hugePagesDir = `${tmp}/hugepages`;
  fs.mkdirSync(`${hugePagesDir}/hugepages-2048kB`, { recursive: true });
  fs.mkdirSync(`${hugePagesDir}/hugepages-1048576kB`, { recursive: true });
  const layout = detectCgroupLayout(`${lines.join("\n")}\n`);
  const kernel = new FakeKernel(`${tmp}/fs`, v1Mounts, v2Root);
  return {
    layout,
    kernel,
    hugePagesDir,
    open: (inner = "/husk/c1", procSelfCgroup) => openCgroup(layout, inner, { fs: kernel, procSelfCgroup, hugePagesDir }),
    read: (rel) => fs.readFileSync(`${tmp}/fs/${rel}`, "utf8").trim(),
  };
}

/** The directories the fake kernel is asked to make from now on, relative to its root. */
function recordMkdirs(m: Fake): string[] {
  const asked: string[] = [];
  const mkdir = m.kernel.mkdir.bind(m.kernel);
  m.kernel.mkdir = (p: string) => {
    asked.push(p.slice(`${tmp}/fs/`.length));
    return mkdir(p);
  };
  return asked;
}

const allV1 = ["cpu,cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls", "systemd"];
const allV2 = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"];

function thrown(fn: () => unknown): CgroupError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CgroupError);
    return e as CgroupError;
  }
  throw new Error("expected a CgroupError");
}

async function thrownAsync(fn: () => Promise<unknown>): Promise<CgroupError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CgroupError);
    return e as CgroupError;
  }
  throw new Error("expected a CgroupError");
}

describe("v1", () => {
  test("open maps every hierarchy, co-mounted controllers share a directory", () => {
    const m = machine(allV1);
    const cg = m.open();
    expect(cg.paths.cpu).toBe(`${tmp}/fs/cpu,cpuacct/husk/c1`);
    expect(cg.paths.cpuacct).toBe(cg.paths.cpu);
    expect(cg.paths["name=systemd"]).toBe(`${tmp}/fs/systemd/husk/c1`);
    expect(cg.paths[""]).toBeUndefined();
  });

  test("create makes parents, copies cpuset cpus/mems down, and is idempotent", () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    cg.create();
    for (const h of allV1) expect(fs.statSync(`${tmp}/fs/${h}/husk/c1`).isDirectory()).toBe(true);
    expect(m.read("cpuset/husk/cpuset.cpus")).toBe("0-3");
    expect(m.read("cpuset/husk/c1/cpuset.cpus")).toBe("0-3");
    expect(m.read("cpuset/husk/c1/cpuset.mems")).toBe("0");
    // The parent it made fills in each later child's cpus and mems itself (the kernel's clone_children).
    expect(m.read("cpuset/husk/cgroup.clone_children")).toBe("1");
    expect(cg.exists()).toBe(true);
    m.kernel.writes = [];
    const second = m.open("/husk/c2");
    expect(second.createLeaves()).toBe(true);
    expect(m.read("cpuset/husk/c2/cpuset.cpus")).toBe("0-3");
    expect(m.read("cpuset/husk/c2/cpuset.mems")).toBe("0");
    expect(m.kernel.writes.filter((w) => w.startsWith("cpuset/"))).toEqual([]);
  });

  test("below parents already there, create makes a v1 cgroup with one mkdir per hierarchy (cpuset walks each level)", () => {
    const m = machine(allV1, ["hugetlb"]);
    m.open("/husk/c0").create();
    const asked = recordMkdirs(m);
    const cg = m.open();
    cg.create();
    const v1 = allV1.filter((h) => h !== "cpuset").map((h) => `${h}/husk/c1`);
    expect(asked.sort()).toEqual([...v1, "cpuset/husk", "cpuset/husk/c1", "unified/husk", "unified/husk/c1"].sort());
    expect(cg.created.sort()).toEqual([...v1, "cpuset/husk/c1", "unified/husk/c1"].map((d) => `${tmp}/fs/${d}`).sort());
    expect(m.read("cpuset/husk/c1/cpuset.cpus")).toBe("0-3");
    // Made again: nothing new is claimed.
    const again = m.open();
    again.create();
    expect(again.created).toEqual([]);
    expect(again.isOwn()).toBe(false);
  });

  test("createLeaves makes only the cgroup's own directory in each hierarchy, its parents there, and fills in what it needs from them", () => {
    const m = machine(allV1, ["hugetlb", "pids"]);
    m.open("/husk/c0").create();
    const asked = recordMkdirs(m);
    const cg = m.open();
    expect(cg.missingLeaves().sort()).toEqual(
      Object.values(cg.paths)
        .filter((d, i, all) => all.indexOf(d) === i)
        .sort(),
    );
    expect(cg.createLeaves()).toBe(true);
    const leaves = [...allV1, "unified"].map((h) => `${h}/husk/c1`);
    expect(asked.sort()).toEqual(leaves.sort());
    expect(cg.created.sort()).toEqual(leaves.map((d) => `${tmp}/fs/${d}`).sort());
    expect(cg.missingLeaves()).toEqual([]);
    // cpuset's cpus and mems come from the parent; cgroup2's controllers are delegated to it.
    expect(m.read("cpuset/husk/c1/cpuset.cpus")).toBe("0-3");
    expect(m.read("cpuset/husk/c1/cpuset.mems")).toBe("0");
    expect(m.read("unified/husk/c1/cgroup.controllers").split(" ").sort()).toEqual(["hugetlb", "pids"]);
    // Made again: nothing is claimed, and nothing is rewritten.
    const again = m.open();
    expect(again.createLeaves()).toBe(true);
    expect(again.created).toEqual([]);
  });

  test("planLeaves makes and reads nothing: it names the leaves and what the helper looks at and fills in around them, and claims them", () => {
    const m = machine(allV1, ["hugetlb", "pids"]);
    m.open("/husk/c0").create();
    const asked = recordMkdirs(m);
    m.kernel.writes = [];
    const cg = m.open();
    const plan = cg.planLeaves();
    const leaves = [...allV1, "unified"].map((h) => `${tmp}/fs/${h}/husk/c1`);
    expect(plan?.dirs.sort()).toEqual([...leaves].sort());
    expect(asked).toEqual([]);
    expect(m.kernel.writes).toEqual([]);
    expect(fs.existsSync(`${tmp}/fs/memory/husk/c1`)).toBe(false);
    // Where a freeze would show (the v1 freezer, cgroup2), the cgroup2 parent to delegate, the cpuset to fill in.
    expect(plan?.frozen.sort()).toEqual([`${tmp}/fs/freezer/husk`, `${tmp}/fs/unified/husk`]);
    expect(plan?.delegate).toEqual([`${tmp}/fs/unified/husk`]);
    expect(plan?.cpuset).toBe(`${tmp}/fs/cpuset/husk/c1`);
    expect(cg.ownLeaves().sort()).toEqual([...leaves].sort());
  });

  test("planLeaves with parents the helper makes again asks nothing of them, even one that is gone", () => {
    const m = machine(["memory", "pids"]);
    fs.rmSync(`${tmp}/fs/pids/husk`, { recursive: true, force: true });
    const cg = m.open();
    expect(cg.planLeaves(true)?.dirs.sort()).toEqual([`${tmp}/fs/memory/husk/c1`, `${tmp}/fs/pids/husk/c1`]);
  });

  test("planSet gives the writes set() makes to the made cgroup, in its order, making and writing nothing", () => {
    const m = machine(allV1, ["hugetlb"]);
    m.open("/husk/c0").create();
    const resources = {
      devices: [...defaultDeviceRules],
      memory: { limit: 100 << 20, swap: 200 << 20, reservation: 50 << 20 },
      cpu: { quota: 50000, period: 100000, cpus: "1" },
      pids: { limit: 50 },
      network: { classID: 0x100001 },
    };
    const asked = recordMkdirs(m);
    m.kernel.writes = [];
    const planned = m.open().planSet(resources);
    expect(asked).toEqual([]);
    expect(m.kernel.writes).toEqual([]);
    expect(fs.existsSync(`${tmp}/fs/memory/husk/c1`)).toBe(false);
    // The same cgroup made, and set() for real: the same writes, value by value, in the same order.
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    cg.set(resources);
    const flat = (planned?.writes ?? []).flatMap((w) => w.values.map((v) => `${path.relative(`${tmp}/fs`, w.path)}: ${v}`));
    expect(flat).toEqual(m.kernel.writes);
    expect(flat).toContain("memory/husk/c1/memory.limit_in_bytes: 104857600");
    // Each write names the field it is for.
    expect(planned?.writes.find((w) => w.path.endsWith("/cpu.cfs_period_us"))?.origin).toBe("linux.resources.cpu.period");
    expect(planned?.writes.find((w) => w.path.endsWith("/pids.max"))?.origin).toBe("linux.resources.pids.limit");
    expect(planned?.writes.find((w) => w.path.endsWith("/devices.allow"))?.origin).toBe("linux.resources.devices");
  });

  test("planSet declines what only the made cgroup tells, and validates as set() does", () => {
    const m = machine(allV1, ["hugetlb"]);
    m.open("/husk/c0").create();
    const cg = m.open();
    // cpu.shares is read back (the kernel clamps it); kernel memory's write is inspected; a
    // cgroup2 knob depends on the parent's subtree_control; the root cgroup lacks pids.max.
    expect(cg.planSet({ cpu: { shares: 512 } })).toBeUndefined();
    expect(cg.planSet({ memory: { kernel: 1 << 20 } })).toBeUndefined();
    const hybrid = machine(["memory", "devices"], ["hugetlb"]); // hugetlb in cgroup2 only, as on this VM
    hybrid.open("/husk/c0").create();
    expect(hybrid.open().planSet({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] })).toBeUndefined();
    expect(m.open("/c1").planSet({ pids: { limit: 5 } })).toBeUndefined();
    // A parent gone (husk's, which the helper makes again): a write that looks at its knobs
    // first (a cpuset's file names) is declined; one that does not is planned all the same.
    fs.rmSync(`${tmp}/fs/cpuset/husk`, { recursive: true });
    fs.rmSync(`${tmp}/fs/pids/husk`, { recursive: true });
    expect(cg.planSet({ cpu: { cpus: "1" } })).toBeUndefined();
    expect(cg.planSet({ pids: { limit: 5 } })?.writes.map((w) => w.values)).toEqual([["5"]]);
    expect(thrown(() => cg.planSet({ memory: { limit: -7 } })).field).toBe("linux.resources.memory.limit");
    expect(fs.existsSync(`${tmp}/fs/memory/husk/c1`)).toBe(false);
  });

  test("planLeaves declines, making and claiming nothing, where a parent is missing", () => {
    const m = machine(["memory", "pids", "cpuset"]);
    m.open("/husk/c0").create();
    fs.rmSync(`${tmp}/fs/pids/husk`, { recursive: true });
    const cg = m.open();
    expect(cg.planLeaves()).toBeUndefined();
    expect(cg.created).toEqual([]);
    expect(fs.existsSync(`${tmp}/fs/memory/husk/c1`)).toBe(false);
  });

  test("createLeaves leaves a hierarchy whose parent is missing to create(), which makes the rest", () => {
    const m = machine(["memory", "pids", "cpuset"]);
    m.open("/husk/c0").create();
    fs.rmSync(`${tmp}/fs/pids/husk`, { recursive: true });
    const cg = m.open();
    expect(cg.createLeaves()).toBe(false);
    expect(fs.existsSync(`${tmp}/fs/pids/husk`)).toBe(false);
    expect(cg.created.sort()).toEqual([`${tmp}/fs/cpuset/husk/c1`, `${tmp}/fs/memory/husk/c1`]);
    // What the runtime records before the walk: the parent too.
    expect(cg.missing()).toEqual([`${tmp}/fs/pids/husk`, `${tmp}/fs/pids/husk/c1`]);
    cg.create();
    expect(cg.created.sort()).toEqual([
      `${tmp}/fs/cpuset/husk/c1`,
      `${tmp}/fs/memory/husk/c1`,
      `${tmp}/fs/pids/husk`,
      `${tmp}/fs/pids/husk/c1`,
    ]);
    expect(m.read("cpuset/husk/c1/cpuset.cpus")).toBe("0-3");
  });

  test("create walks down again when a shared parent is removed under it", () => {
    const m = machine(["memory", "pids"]);
    const cg = m.open();
    // Another container's delete removes the empty /husk right after we made it, twice.
    const mkdir = m.kernel.mkdir.bind(m.kernel);
    let races = 2;
    m.kernel.mkdir = (p: string) => {
      const created = mkdir(p);
      if (p.endsWith("/memory/husk") && races-- > 0) fs.rmSync(p, { recursive: true });
      return created;
    };
    cg.create();
    expect(fs.statSync(`${tmp}/fs/memory/husk/c1`).isDirectory()).toBe(true);
    expect(fs.statSync(`${tmp}/fs/pids/husk/c1`).isDirectory()).toBe(true);
    // It does not retry forever.
    races = 99;
    fs.rmSync(`${tmp}/fs/memory/husk`, { recursive: true });
    expect(thrown(() => cg.create()).message).toContain("mkdir");
  });

  test("relative paths are placed under our own cgroup per hierarchy", () => {
    const m = machine(["memory", "pids"]);
    const cg = m.open("ctr", "5:memory:/sup/x\n4:pids:/\n");
    expect(cg.paths.memory).toBe(`${tmp}/fs/memory/sup/x/ctr`);
    expect(cg.paths.pids).toBe(`${tmp}/fs/pids/ctr`);
  });

  test("set writes the v1 files", () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    const { warnings } = cg.set({
      memory: {
        limit: 100 << 20,
        reservation: 50 << 20,
        swap: 200 << 20,
        swappiness: 10,
        disableOOMKiller: true,
        kernelTCP: 1 << 20,
      },
      cpu: {
        shares: 512,
        quota: 50000,
        period: 100000,
        burst: 1000,
        idle: 1,
        cpus: "1",
        mems: "0",
        realtimePeriod: 900000,
        realtimeRuntime: 1000,
      },
      pids: { limit: 50 },
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }],
      network: { classID: 0x100001 },
    });
    expect(warnings).toEqual([]);
    const d = "husk/c1";
    expect(m.read(`memory/${d}/memory.limit_in_bytes`)).toBe(String(100 << 20));
    expect(m.read(`memory/${d}/memory.memsw.limit_in_bytes`)).toBe(String(200 << 20));
    expect(m.read(`memory/${d}/memory.soft_limit_in_bytes`)).toBe(String(50 << 20));
    expect(m.read(`memory/${d}/memory.swappiness`)).toBe("10");
    expect(m.read(`memory/${d}/memory.oom_control`)).toBe("1");
    expect(m.read(`memory/${d}/memory.kmem.tcp.limit_in_bytes`)).toBe(String(1 << 20));
    expect(m.read(`cpu,cpuacct/${d}/cpu.shares`)).toBe("512");
    expect(m.read(`cpu,cpuacct/${d}/cpu.cfs_quota_us`)).toBe("50000");
    expect(m.read(`cpu,cpuacct/${d}/cpu.cfs_period_us`)).toBe("100000");
    expect(m.read(`cpu,cpuacct/${d}/cpu.cfs_burst_us`)).toBe("1000");
    expect(m.read(`cpu,cpuacct/${d}/cpu.idle`)).toBe("1");
    expect(m.read(`cpu,cpuacct/${d}/cpu.rt_period_us`)).toBe("900000");
    expect(m.read(`cpu,cpuacct/${d}/cpu.rt_runtime_us`)).toBe("1000");
    expect(m.read(`cpuset/${d}/cpuset.cpus`)).toBe("1");
    expect(m.read(`pids/${d}/pids.max`)).toBe("50");
    // No blkio.weight (no CFQ): BFQ's files take the weights.
    expect(m.read(`blkio/${d}/blkio.bfq.weight`)).toBe("300");
    expect(m.read(`blkio/${d}/blkio.bfq.weight_device`)).toBe("8:0 200");
    expect(m.read(`blkio/${d}/blkio.throttle.read_bps_device`)).toBe("8:0 1048576");
    expect(m.read(`blkio/${d}/blkio.throttle.write_iops_device`)).toBe("8:16 100");
    expect(m.read(`hugetlb/${d}/hugetlb.2MB.limit_in_bytes`)).toBe(String(4 << 20));
    expect(m.read(`net_cls/${d}/net_cls.classid`)).toBe(String(0x100001));
  });

  test("memory and memsw are ordered so memory <= memsw holds at every step", () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    // From unlimited down: memory first, then memsw.
    cg.set({ memory: { limit: 100, swap: 200 } });
    const mem = (w: string) => w.replace(/^memory\/husk\/c1\//, "");
    expect(m.kernel.writes.filter((w) => w.includes("limit_in_bytes")).map(mem)).toEqual([
      "memory.limit_in_bytes: 100",
      "memory.memsw.limit_in_bytes: 200",
    ]);
    // Raising above the current limit: memsw first.
    m.kernel.writes = [];
    cg.set({ memory: { limit: 300, swap: 600 } });
    expect(m.kernel.writes.map(mem)).toEqual(["memory.memsw.limit_in_bytes: 600", "memory.limit_in_bytes: 300"]);
    // Unlimited memory, swap unspecified: memsw unlimited too, first.
    m.kernel.writes = [];
    cg.set({ memory: { limit: -1 } });
    expect(m.kernel.writes.map(mem)).toEqual(["memory.memsw.limit_in_bytes: -1", "memory.limit_in_bytes: -1"]);
  });

  test("a memory limit below usage reports usage (EBUSY)", () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    m.kernel.failWrite.set("memory.limit_in_bytes", ["EBUSY"]);
    const e = thrown(() => cg.set({ memory: { limit: 1000 } }));
    expect(e.message).toBe(
      "linux.resources.memory.limit: cannot set the memory limit to 1000: current usage 4096, peak 8192 (EBUSY)",
    );
  });

  test("checkBeforeUpdate refuses a limit at or below usage without writing", () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    expect(thrown(() => cg.set({ memory: { limit: 4096, checkBeforeUpdate: true } })).message).toMatch(
      /at or below the current usage 4096/,
    );
    expect(m.kernel.writes).toEqual([]);
  });

  test("cfs period refused before the quota is retried after it", () => {
    const m = machine(["cpu,cpuacct"]);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    m.kernel.failWrite.set("cpu.cfs_period_us", ["EINVAL"]);
    cg.set({ cpu: { quota: 20000, period: 10000 } });
    expect(m.kernel.writes.map((w) => w.replace(/^.*\//, ""))).toEqual(["cpu.cfs_quota_us: 20000", "cpu.cfs_period_us: 10000"]);
  });

  test("cpu.shares the kernel clamps is an error", () => {
    const m = machine(["cpu,cpuacct"]);
    const cg = m.open();
    cg.create();
    const real = m.kernel.writeFile.bind(m.kernel);
    m.kernel.writeFile = (p, d) => real(p, p.endsWith("cpu.shares") ? "262144" : d);
    expect(thrown(() => cg.set({ cpu: { shares: 200000 } })).message).toBe(
      "linux.resources.cpu.shares: the kernel set cpu.shares to 262144 instead of 200000",
    );
  });

  test("pids limit 0 or negative means max", () => {
    const m = machine(["pids"]);
    const cg = m.open();
    cg.create();
    cg.set({ pids: { limit: 10 } });
    expect(m.read("pids/husk/c1/pids.max")).toBe("10");
    cg.set({ pids: { limit: 0 } });
    expect(m.read("pids/husk/c1/pids.max")).toBe("max");
    cg.set({ pids: { limit: -1 } });
    expect(m.read("pids/husk/c1/pids.max")).toBe("max");
  });

  test("device rules: deny all, then the rules in order", () => {
    const m = machine(["devices"]);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    cg.set({ devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules.slice(0, 3)] });
    expect(m.kernel.writes.map((w) => w.replace(/^.*\//, ""))).toEqual([
      "devices.deny: a",
      "devices.deny: a *:* rwm",
      "devices.allow: c *:* m",
      "devices.allow: b *:* m",
      "devices.allow: c 1:3 rwm",
    ]);
  });

  test("a knob the kernel lacks is an error naming the OCI field", () => {
    const m = machine(["blkio", "memory"]);
    const cg = m.open();
    cg.create();
    fs.rmSync(`${tmp}/fs/blkio/husk/c1/blkio.bfq.weight`);
    expect(thrown(() => cg.set({ blockIO: { weight: 500 } })).message).toBe(
      "linux.resources.blockIO.weight: this kernel has no blkio.weight file",
    );
    expect(thrown(() => cg.set({ blockIO: { leafWeight: 500 } })).message).toBe(
      "linux.resources.blockIO.leafWeight: this kernel has no blkio.leaf_weight file",
    );
    fs.rmSync(`${tmp}/fs/memory/husk/c1/memory.memsw.limit_in_bytes`);
    expect(thrown(() => cg.set({ memory: { limit: 100, swap: 200 } })).message).toBe(
      "linux.resources.memory.swap: this kernel has no memory.memsw.limit_in_bytes file",
    );
  });

  test("a controller the machine lacks is an error naming the OCI field", () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    expect(thrown(() => cg.set({ pids: { limit: 5 } })).message).toBe(
      "linux.resources.pids.limit: the pids cgroup controller is not available on this machine",
    );
    expect(thrown(() => cg.set({ cpu: { shares: 5 } })).message).toMatch(/^linux\.resources\.cpu: the cpu cgroup controller/);
    expect(thrown(() => cg.set({ devices: [] })).message).toMatch(
      /^linux\.resources\.devices: the devices cgroup controller is not mounted/,
    );
    expect(thrown(() => cg.set({ unified: { "memory.high": "1" } })).message).toBe(
      "linux.resources.unified: invalid configuration: cannot use unified on cgroup v1 (this host's cgroups are v1)",
    );
    expect(thrown(() => cg.set({ rdma: { mlx5_0: { hcaHandles: 1 } } })).message).toBe(
      "linux.resources.rdma: rdma limits are not supported by husk",
    );
  });

  test("validation happens before any write", () => {
    const m = machine(["memory", "pids"]);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    expect(thrown(() => cg.set({ pids: { limit: 5 }, memory: { limit: -7 } })).field).toBe("linux.resources.memory.limit");
    expect(m.kernel.writes).toEqual([]);
  });

  test("deprecated kernel memory is a warning when the knob is gone", () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    fs.rmSync(`${tmp}/fs/memory/husk/c1/memory.kmem.limit_in_bytes`);
    expect(cg.set({ memory: { kernel: 1 << 20 } }).warnings).toEqual([
      "linux.resources.memory.kernel: ignored, this kernel has no memory.kmem.limit_in_bytes file",
    ]);
    // Accepted but not enforced (the knob keeps reading unlimited): also a warning.
    fs.writeFileSync(`${tmp}/fs/memory/husk/c1/memory.kmem.limit_in_bytes`, "9223372036854771712\n");
    const real = m.kernel.writeFile.bind(m.kernel);
    m.kernel.writeFile = (p, d) => real(p, p.endsWith("kmem.limit_in_bytes") ? "9223372036854771712" : d);
    expect(cg.set({ memory: { kernel: 1 << 20 } }).warnings).toEqual([
      "linux.resources.memory.kernel: ignored, this kernel no longer enforces kernel memory limits",
    ]);
  });

  test("unknown huge page sizes are refused", () => {
    const m = machine(["hugetlb"]);
    const cg = m.open();
    cg.create();
    expect(thrown(() => cg.set({ hugepageLimits: [{ pageSize: "4MB", limit: 1 }] })).message).toBe(
      "linux.resources.hugepageLimits[0].pageSize: this kernel has no 4MB huge pages (it has 2MB, 1GB)",
    );
  });

  test("apply, pids (recursive), freeze, thaw", async () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    cg.apply(4242);
    for (const h of allV1) expect(m.read(`${h}/husk/c1/cgroup.procs`)).toBe("4242");
    populate(`${tmp}/fs/pids/husk/c1/sub`, { "cgroup.procs": "77\n78\n" });
    expect(cg.pids().sort()).toEqual([4242, 77, 78].sort());
    expect(cg.frozen()).toBe(false);
    await cg.freeze();
    expect(m.read("freezer/husk/c1/freezer.state")).toBe("FROZEN");
    expect(cg.frozen()).toBe(true);
    cg.thaw();
    expect(cg.frozen()).toBe(false);
  });

  test("stats read the v1 files into runc's shape", () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    fs.writeFileSync(`${tmp}/fs/pids/husk/c1/pids.max`, "64\n");
    const s = cgroupStats(cg);
    expect(s.cpu.usage).toEqual({
      total: 5000,
      percpu: [3000, 2000],
      percpu_kernel: [1000, 500],
      percpu_user: [2000, 1500],
      kernel: 10000000,
      user: 30000000,
    });
    expect(s.cpu.throttling).toEqual({ periods: 4, throttledPeriods: 1, throttledTime: 777 });
    expect(s.memory.usage).toEqual({ limit: 2 ** 63 - 4096, usage: 4096, max: 8192, failcnt: 0 });
    expect(s.memory.cache).toBe(100);
    expect(s.memory.raw).toEqual({ cache: 100, rss: 200 });
    expect(s.pids).toEqual({ current: 1, limit: 64 });
    expect(s.cpuset.cpus).toEqual([0, 1, 2, 3]);
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: "Read", value: 10 },
      { major: 8, minor: 0, op: "Write", value: 20 },
      { major: 8, minor: 0, op: "Total", value: 30 },
    ]);
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0, max: 0, failcnt: 0 });
    expect(statsToJSON(s)).toContain('"limit":9223372036854771712');
  });

  test("destroy's EBUSY retries wait without blocking the event loop", async () => {
    const m = machine(["freezer"]);
    const cg = m.open();
    cg.create();
    m.kernel.failRmdir.set("freezer/husk/c1", ["EBUSY", "EBUSY", "EBUSY"]);
    // The retries wait 10, 20 and 40 ms: timers keep firing meanwhile (Atomics.wait would stop them).
    let ticks = 0;
    const tick = setInterval(() => ticks++, 1);
    try {
      await cg.destroy();
    } finally {
      clearInterval(tick);
    }
    expect(fs.existsSync(`${tmp}/fs/freezer/husk/c1`)).toBe(false);
    expect(ticks).toBeGreaterThan(5);
  });

  test("destroy removes sub-cgroups, retries EBUSY, tolerates missing dirs", async () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    populate(`${tmp}/fs/memory/husk/c1/sub`, { "cgroup.procs": "" });
    fs.rmSync(`${tmp}/fs/pids/husk/c1`, { recursive: true });
    m.kernel.failRmdir.set("freezer/husk/c1", ["EBUSY", "EBUSY"]);
    await cg.destroy();
    for (const h of allV1) expect(fs.existsSync(`${tmp}/fs/${h}/husk/c1`)).toBe(false);
    // The shared parent stays, as with runc.
    expect(fs.existsSync(`${tmp}/fs/memory/husk`)).toBe(true);
    expect(cg.exists()).toBe(false);
    await cg.destroy();
  });

  test("destroy gives up on a cgroup that keeps its processes", async () => {
    const m = machine(["memory"]);
    const cg = m.open();
    cg.create();
    cg.apply(999999);
    const e = await thrownAsync(() => cg.destroy());
    expect(e.message).toBe(`remove cgroup ${tmp}/fs/memory/husk/c1: it still has processes (EBUSY)`);
    expect(e.errno).toBe("EBUSY");
  });

  test("fromPaths reopens the same directories", async () => {
    const m = machine(allV1);
    const cg = m.open();
    cg.create();
    const again = Cgroup.fromPaths(m.layout, JSON.parse(JSON.stringify(cg.paths)), { fs: m.kernel });
    expect(again.paths).toEqual(cg.paths);
    again.set({ pids: { limit: 3 } });
    expect(m.read("pids/husk/c1/pids.max")).toBe("3");
    await again.destroy();
    expect(cg.exists()).toBe(false);
  });
});

describe("v2", () => {
  test("open uses the parent of our own cgroup for relative paths", () => {
    const m = machine([], allV2);
    expect(m.layout.mode).toBe("v2");
    expect(m.open("ctr", "0::/user.slice/session-1.scope\n").paths).toEqual({ "": `${tmp}/fs/user.slice/ctr` });
    expect(m.open().paths).toEqual({ "": `${tmp}/fs/husk/c1` });
  });

  test("create delegates every controller down the path", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    expect(fs.readFileSync(`${tmp}/fs/cgroup.subtree_control`, "utf8").trim().split(" ").sort()).toEqual([...allV2].sort());
    expect(m.read("husk/cgroup.subtree_control").split(" ").sort()).toEqual([...allV2].sort());
    expect(m.read("husk/c1/cgroup.controllers").split(" ").sort()).toEqual([...allV2].sort());
    // Idempotent, and it does not re-enable what is already enabled.
    m.kernel.writes = [];
    cg.create();
    expect(m.kernel.writes).toEqual([]);
  });

  test("createLeaves below a delegating parent: one mkdir and no write; a parent that stopped delegating is asked again", () => {
    const m = machine([], allV2);
    m.open("/husk/c0").create();
    const asked = recordMkdirs(m);
    m.kernel.writes = [];
    const cg = m.open();
    expect(cg.createLeaves()).toBe(true);
    expect(asked).toEqual(["husk/c1"]);
    expect(m.kernel.writes).toEqual([]);
    expect(m.read("husk/c1/cgroup.controllers").split(" ").sort()).toEqual([...allV2].sort());
    fs.writeFileSync(`${tmp}/fs/husk/cgroup.subtree_control`, "cpu\n");
    expect(m.open("/husk/c2").createLeaves()).toBe(true);
    expect(m.read("husk/cgroup.subtree_control").split(" ").sort()).toEqual([...allV2].sort());
  });

  test("set writes the v2 files with v1 values converted", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    const { warnings } = cg.set({
      memory: { limit: 100 << 20, swap: 300 << 20, reservation: 50 << 20 },
      cpu: { shares: 1024, quota: 50000, period: 200000, burst: 1000, idle: 0, cpus: "0-1", mems: "0" },
      pids: { limit: -1 },
      blockIO: {
        weight: 500,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }],
      unified: { "memory.high": "90000000" },
    });
    expect(warnings).toEqual([]);
    const r = (f: string) => m.read(`husk/c1/${f}`);
    expect(r("memory.max")).toBe(String(100 << 20));
    expect(r("memory.swap.max")).toBe(String(200 << 20));
    expect(r("memory.low")).toBe(String(50 << 20));
    expect(r("cpu.weight")).toBe("100");
    expect(r("cpu.max")).toBe("50000 200000");
    expect(r("cpu.max.burst")).toBe("1000");
    expect(r("cpuset.cpus")).toBe("0-1");
    expect(r("pids.max")).toBe("max");
    expect(r("io.weight")).toBe("4950");
    expect(m.kernel.writes.filter((w) => w.includes("io.max"))).toEqual([
      "husk/c1/io.max: 8:0 rbps=1000",
      "husk/c1/io.max: 8:0 wbps=max",
    ]);
    expect(r("hugetlb.2MB.max")).toBe(String(2 << 20));
    expect(r("hugetlb.2MB.rsvd.max")).toBe(String(2 << 20));
    expect(r("memory.high")).toBe("90000000");
  });

  test("quota alone keeps the current period; period alone keeps the quota", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    fs.writeFileSync(`${tmp}/fs/husk/c1/cpu.max`, "max 50000\n");
    cg.set({ cpu: { quota: 20000 } });
    expect(m.read("husk/c1/cpu.max")).toBe("20000 50000");
    cg.set({ cpu: { period: 40000 } });
    expect(m.read("husk/c1/cpu.max")).toBe("20000 40000");
    cg.set({ cpu: { quota: -1 } });
    expect(m.read("husk/c1/cpu.max")).toBe("max 40000");
  });

  test("v1-only settings are errors naming the field", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    expect(thrown(() => cg.set({ memory: { swappiness: 10 } })).message).toBe(
      "linux.resources.memory.swappiness: cgroup v2 has no memory.swappiness file",
    );
    expect(thrown(() => cg.set({ memory: { disableOOMKiller: true } })).field).toBe("linux.resources.memory.disableOOMKiller");
    expect(thrown(() => cg.set({ cpu: { realtimeRuntime: 10 } })).field).toBe("linux.resources.cpu.realtimeRuntime");
    expect(thrown(() => cg.set({ blockIO: { leafWeight: 10 } })).field).toBe("linux.resources.blockIO.leafWeight");
    expect(thrown(() => cg.set({ network: { classID: 1 } })).field).toBe("linux.resources.network.classID");
    expect(thrown(() => cg.set({ memory: { limit: 0, swap: 100 } })).message).toBe(
      "linux.resources.memory.swap: cannot set a swap limit without a memory limit on cgroup v2",
    );
    expect(cg.set({ memory: { kernel: 100, kernelTCP: 100 } }).warnings).toEqual([
      "linux.resources.memory.kernel: ignored, cgroup v2 has no kernel memory limit",
      "linux.resources.memory.kernelTCP: ignored, cgroup v2 has no kernel memory limit",
    ]);
  });

  test("unified: unknown files and undelegated controllers are errors", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    expect(thrown(() => cg.set({ unified: { "memory.nosuch": "1" } })).message).toBe(
      'linux.resources.unified["memory.nosuch"]: this kernel has no memory.nosuch file',
    );
    expect(thrown(() => cg.set({ unified: { "rdma.max": "1" } })).message).toBe(
      `linux.resources.unified["rdma.max"]: the rdma controller is not enabled for ${tmp}/fs/husk/c1 (${tmp}/fs/husk/cgroup.subtree_control does not delegate it)`,
    );
  });

  test("device rules on v2 become a filter program for the cgroup, none when everything is allowed", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    expect(cg.set({ devices: [{ allow: true, access: "rwm" }] })).toEqual({ warnings: [], deviceFilter: undefined });
    const { warnings, deviceFilter } = cg.set({ devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules] });
    expect(warnings).toEqual([]);
    expect(deviceFilter?.dir).toBe(`${tmp}/fs/husk/c1`);
    expect(runDeviceFilter(deviceFilter?.program ?? new Uint8Array(), "c", 1, 3, "rw")).toBe(true);
    expect(runDeviceFilter(deviceFilter?.program ?? new Uint8Array(), "b", 8, 0, "r")).toBe(false);
    // Nothing of it is a file write.
    expect(m.kernel.writes).toEqual([]);
  });

  test("freeze waits for cgroup.events, frozen reads cgroup.freeze", async () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    await cg.freeze();
    expect(m.read("husk/c1/cgroup.freeze")).toBe("1");
    expect(cg.frozen()).toBe(true);
    cg.thaw();
    expect(cg.frozen()).toBe(false);
  });

  test("killAll with SIGKILL uses cgroup.kill", async () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    m.kernel.writes = [];
    await cg.killAll("SIGKILL");
    expect(m.kernel.writes).toEqual(["husk/c1/cgroup.kill: 1"]);
  });

  test("stats read the v2 files", () => {
    const m = machine([], allV2);
    const cg = m.open();
    cg.create();
    const s = cgroupStats(cg);
    expect(s.cpu.usage.total).toBe(5000);
    expect(s.cpu.usage.user).toBe(3000);
    expect(s.cpu.usage.kernel).toBe(2000);
    expect(s.cpu.throttling).toEqual({ periods: 4, throttledPeriods: 1, throttledTime: 9000 });
    expect(s.memory.usage).toEqual({ limit: 2 ** 64, usage: 4096, max: 8192, failcnt: 2 });
    expect(s.memory.swap.usage).toBe(4096);
    expect(s.memory.cache).toBe(7);
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: "Read", value: 10 },
      { major: 8, minor: 0, op: "Write", value: 20 },
    ]);
    expect(s.blkio.ioServicedRecursive).toHaveLength(2);
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0, max: 0, failcnt: 3 });
    expect(s.cpuset.cpus).toEqual([0, 1, 2, 3]);
    expect(statsToJSON(s)).toContain('"usage":{"limit":18446744073709551615,');
  });
});

describe("hybrid", () => {
  test("hugetlb goes to the cgroup2 tree, the rest to v1", async () => {
    const m = machine(["memory", "freezer", "systemd"], ["hugetlb"]);
    expect(m.layout.mode).toBe("hybrid");
    const cg = m.open();
    expect(cg.paths[""]).toBe(`${tmp}/fs/unified/husk/c1`);
    cg.create();
    cg.set({
      memory: { limit: 1000 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }],
    });
    expect(m.read("memory/husk/c1/memory.limit_in_bytes")).toBe("1000");
    expect(m.read("unified/husk/c1/hugetlb.2MB.max")).toBe(String(2 << 20));
    // unified is refused on hybrid as on v1 (runc's rule and words), even for what the v2 tree has,
    // and before anything is written.
    m.kernel.writes = [];
    expect(thrown(() => cg.set({ memory: { limit: 2000 }, unified: { "hugetlb.1GB.max": "0" } })).message).toBe(
      "linux.resources.unified: invalid configuration: cannot use unified on cgroup v1 (this host's cgroups are hybrid)",
    );
    expect(m.kernel.writes).toEqual([]);
    // The freezer is v1's.
    await cg.freeze();
    expect(m.read("freezer/husk/c1/freezer.state")).toBe("FROZEN");
    expect(m.read("unified/husk/c1/cgroup.freeze")).toBe("0");
    cg.thaw();
    cg.apply(5);
    expect(m.read("unified/husk/c1/cgroup.procs")).toBe("5");
    expect(m.read("systemd/husk/c1/cgroup.procs")).toBe("5");
  });

  test("devices rules on hybrid without a v1 devices hierarchy go to the unified tree as a filter", () => {
    const m = machine(["memory"], ["hugetlb"]);
    const cg = m.open();
    cg.create();
    const set = cg.set({ devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules] });
    expect(set.deviceFilter?.dir).toBe(cg.paths[""]);
  });
});
