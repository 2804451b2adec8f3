// The cgroup module against this machine's real cgroupfs (v1, v2 or hybrid, whatever it is).
// Each test makes its own cgroup under a unique absolute path, puts real processes in it,
// and removes processes and directories in a `finally`. Needs root; tests that need a
// controller this machine lacks are skipped, saying which.
import { describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import {
  type Cgroup,
  CgroupError,
  cgroupStats,
  defaultDeviceRules,
  detectCgroupLayout,
  openCgroup,
  statsToJSON,
} from "../../src/cgroups/index.ts";

const isRoot = process.getuid?.() === 0;
const layout = isRoot || fs.existsSync("/proc/self/mountinfo") ? detectCgroupLayout() : undefined;

function has(controller: string): boolean {
  return !!layout && (layout.v1.has(controller) || layout.v2Controllers.includes(controller));
}

/** Why a test cannot run here, or undefined. */
function missing(...controllers: string[]): string | undefined {
  if (!isRoot) return "needs root";
  const absent = controllers.filter((c) => !has(c));
  return absent.length > 0 ? `this machine has no ${absent.join(", ")} cgroup controller` : undefined;
}

/**
 * test(), or test.skip() with the reason in its name: a controller this machine lacks, or
 * `also`, another reason the test cannot run here.
 */
function cgTest(name: string, controllers: string[], fn: (t: Scratch) => Promise<void> | void, also?: string): void {
  const why = missing(...controllers) ?? also;
  if (why) test.skip(`${name} (skipped: ${why})`, () => {});
  else
    test(name, async () => {
      const t = new Scratch();
      try {
        await fn(t);
      } finally {
        await t.cleanup();
      }
    });
}

/**
 * The files a new (non-root) cgroup gets, per controller, on this kernel: which knobs exist
 * (swap accounting, blkio weights) decides which tests can run, before they are registered.
 */
const childFiles: Map<string, Set<string>> = await (async () => {
  const files = new Map<string, Set<string>>();
  if (!isRoot || !layout) return files;
  const cg = openCgroup(layout, `/husk-test-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    cg.create();
    for (const c of ["memory", "blkio"]) {
      const d = cg.home(c);
      if (d) files.set(c, new Set(fs.readdirSync(d.path)));
    }
  } finally {
    await cg.destroy();
  }
  return files;
})();

/** Why a knob's file is not there in a new cgroup, or undefined when it is. */
function noFile(controller: string, ...names: string[]): string | undefined {
  const have = childFiles.get(controller);
  if (!have) return undefined; // no controller: missing() says so
  return names.some((n) => have.has(n)) ? undefined : `this kernel has no ${names.join(" or ")} file`;
}

/** A block device of this machine (not a loop or ram disk) as major, minor; undefined if none. */
const blockDevice = (() => {
  let names: string[] = [];
  try {
    names = fs.readdirSync("/sys/block").filter((n) => !/^(loop|ram|zram)/.test(n));
  } catch {}
  const [major, minor] = names.length ? fs.readFileSync(`/sys/block/${names[0]}/dev`, "utf8").trim().split(":").map(Number) : [];
  return major === undefined || minor === undefined ? undefined : { major, minor };
})();

/** Poll `check` until it holds or `ms` pass; returns whether it held. */
async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

let counter = 0;

/** A unique parent cgroup for one test, its processes, and their cleanup. */
class Scratch {
  readonly parent = `/husk-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  readonly path = `${this.parent}/ctr`;
  readonly cg: Cgroup;
  private children: ChildProcess[] = [];
  private extra: Cgroup[] = [];

  constructor() {
    if (!layout) throw new Error("no cgroup layout");
    this.cg = openCgroup(layout, this.path);
  }

  open(inner: string): Cgroup {
    const cg = openCgroup(layout!, inner);
    this.extra.push(cg);
    return cg;
  }

  spawn(script: string): ChildProcess {
    const child = spawn("sh", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    this.children.push(child);
    if (child.pid === undefined) throw new Error("spawn failed");
    return child;
  }

  async cleanup(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid!, "SIGKILL");
        } catch {}
      }
    }
    // Processes the children started (not our children) are in the cgroup: kill them by pid.
    for (const cg of [...this.extra, this.cg]) {
      try {
        cg.thaw();
      } catch {}
      try {
        for (const pid of cg.pids()) process.kill(pid, "SIGKILL");
      } catch {}
    }
    await Promise.all(this.children.map(exited));
    for (const cg of [...this.extra.reverse(), this.cg, openCgroup(layout!, this.parent)]) {
      try {
        await cg.destroy();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => c.once("exit", () => resolve()));
}

function procCgroup(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Read a knob of this cgroup wherever its controller lives. */
function knob(cg: Cgroup, controller: string, file: string): string {
  const d = cg.home(controller);
  if (!d) throw new Error(`no ${controller}`);
  return fs.readFileSync(d.file(file), "utf8").trim();
}

describe(`cgroups on this machine (${layout?.mode ?? "unknown"})`, () => {
  cgTest("create, set limits, join, and see it in /proc/<pid>/cgroup", ["memory", "pids", "cpu"], async (t) => {
    const { cg } = t;
    cg.create();
    cg.create(); // idempotent
    for (const dir of Object.values(cg.paths)) expect(fs.statSync(dir).isDirectory()).toBe(true);
    const withCpuset = has("cpuset");
    const { warnings } = cg.set({
      memory: { limit: 64 << 20 },
      pids: { limit: 20 },
      cpu: { shares: 512, quota: 50000, period: 100000, ...(withCpuset ? { cpus: "0", mems: "0" } : {}) },
    });
    expect(warnings).toEqual([]);
    const v1 = (c: string) => layout!.v1.has(c);
    expect(knob(cg, "memory", v1("memory") ? "memory.limit_in_bytes" : "memory.max")).toBe(String(64 << 20));
    expect(knob(cg, "pids", "pids.max")).toBe("20");
    if (v1("cpu")) {
      expect(knob(cg, "cpu", "cpu.shares")).toBe("512");
      expect(knob(cg, "cpu", "cpu.cfs_quota_us")).toBe("50000");
      expect(knob(cg, "cpu", "cpu.cfs_period_us")).toBe("100000");
    } else {
      expect(knob(cg, "cpu", "cpu.weight")).toBe("59");
      expect(knob(cg, "cpu", "cpu.max")).toBe("50000 100000");
    }
    if (withCpuset) {
      expect(knob(cg, "cpuset", "cpuset.cpus")).toBe("0");
      expect(knob(cg, "cpuset", "cpuset.mems")).toBe("0");
    }

    const child = t.spawn("exec sleep 100");
    cg.apply(child.pid!);
    const lines = procCgroup(child.pid!).trim().split("\n");
    // Every hierarchy line now names our cgroup.
    for (const line of lines) {
      const controllers = line.split(":")[1]!;
      const named = controllers === "" || controllers.split(",").some((c) => cg.paths[c] !== undefined);
      if (named) expect(line.endsWith(`:${t.path}`)).toBe(true);
    }
    expect(lines.some((l) => /:memory:/.test(l) || l.startsWith("0::"))).toBe(true);
    expect(cg.pids()).toEqual([child.pid!]);
  });

  cgTest("freeze stops a busy process, thaw resumes it", ["pids"], async (t) => {
    const { cg } = t;
    cg.create();
    const child = t.spawn("while :; do :; done");
    cg.apply(child.pid!);
    await sleep(50);
    await cg.freeze();
    expect(cg.frozen()).toBe(true);
    const freezerV1 = layout!.v1.get("freezer");
    if (freezerV1) expect(fs.readFileSync(`${cg.paths.freezer}/freezer.state`, "utf8").trim()).toBe("FROZEN");
    else expect(fs.readFileSync(`${cg.paths[""]}/cgroup.events`, "utf8")).toContain("frozen 1");
    // A busy loop that gets no CPU for 300 ms: frozen, not merely asleep.
    const before = cpuTicks(child.pid!);
    await sleep(300);
    expect(cpuTicks(child.pid!)).toBe(before);
    cg.thaw();
    expect(cg.frozen()).toBe(false);
    expect(await until(() => cpuTicks(child.pid!) > before)).toBe(true);
    expect(fs.readFileSync(`/proc/${child.pid}/status`, "utf8")).toMatch(/^State:\s+R /m);
  });

  cgTest("pids() is recursive; stats(); killAll; destroy leaves nothing", ["pids", "memory"], async (t) => {
    const { cg } = t;
    cg.create();
    cg.set({ pids: { limit: 50 }, memory: { limit: 128 << 20 } });
    const child = t.spawn("sleep 100 & sleep 100 & wait");
    cg.apply(child.pid!);
    // The shell may have forked before it was moved: move its children explicitly.
    const children = () =>
      fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    await until(() => children().length >= 2);
    const shChildren = children();
    expect(shChildren).toHaveLength(2);
    for (const p of shChildren) cg.apply(p);
    // One sleep goes into a sub-cgroup, as a container's own nested cgroup would be.
    const sub = t.open(`${t.path}/sub`);
    sub.create();
    sub.apply(shChildren[0]!);
    expect(procCgroup(shChildren[0]!)).toContain(`${t.path}/sub`);
    expect(cg.pids().sort()).toEqual([child.pid!, ...shChildren].sort());
    expect(sub.pids()).toEqual([shChildren[0]!]);

    const s = cgroupStats(cg);
    expect(s.pids.current).toBe(3);
    expect(s.pids.limit).toBe(50);
    expect(s.memory.usage.limit).toBe(128 << 20);
    expect(s.cpu.usage.total).toBeGreaterThanOrEqual(0);
    expect(Object.keys(s.memory.raw).length).toBeGreaterThan(0);
    expect(() => JSON.parse(statsToJSON(s))).not.toThrow();

    await cg.killAll("SIGKILL");
    await exited(child);
    for (let i = 0; i < 100 && cg.pids().length > 0; i++) await sleep(20);
    expect(cg.pids()).toEqual([]);
    await cg.destroy();
    for (const dir of Object.values(cg.paths)) expect(fs.existsSync(dir)).toBe(false);
    expect(cg.exists()).toBe(false);
    await cg.destroy(); // again: nothing to do
  });

  cgTest("killAll with SIGTERM, while paused, stays paused until thawed", ["pids"], async (t) => {
    const { cg } = t;
    cg.create();
    const child = t.spawn("exec sleep 100");
    cg.apply(child.pid!);
    await cg.freeze();
    await cg.killAll("SIGTERM");
    expect(cg.frozen()).toBe(true);
    await sleep(100);
    expect(child.exitCode === null && child.signalCode === null).toBe(true);
    cg.thaw();
    await exited(child);
    expect(child.signalCode).toBe("SIGTERM");
  });

  cgTest("destroy refuses a cgroup that still has a process", ["pids"], async (t) => {
    const { cg } = t;
    cg.create();
    const child = t.spawn("exec sleep 100");
    cg.apply(child.pid!);
    let err: unknown;
    try {
      await cg.destroy();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupError);
    expect((err as CgroupError).errno).toBe("EBUSY");
    expect(cg.exists()).toBe(true);
  });

  cgTest(
    "v1 device rules are enforced",
    ["devices"],
    async (t) => {
      const { cg } = t;
      cg.create();
      cg.set({ devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules] });
      const list = fs.readFileSync(`${cg.paths.devices}/devices.list`, "utf8");
      expect(list).toContain("c 1:3 rwm");
      expect(list).not.toContain("a *:* rwm");
      // The shell waits for a line, so it is in the cgroup before it opens anything.
      // (`true`, not `:`: a failed redirection on a special builtin would end the shell.)
      const child = t.spawn(
        "true < /dev/null && echo null=ok; read x; true < /dev/null && echo null=ok; true < /dev/kmsg 2>/dev/null && echo kmsg=ok || echo kmsg=denied",
      );
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
      });
      // The shell is up and waiting at `read` once it has written its first line.
      expect(await until(() => out === "null=ok\n")).toBe(true);
      cg.apply(child.pid!);
      child.stdin!.write("\n");
      await exited(child);
      expect(out).toBe("null=ok\nnull=ok\nkmsg=denied\n");
    },
    layout?.v1.has("devices") ? undefined : "cgroup2 has no devices files: devices-v2.test.ts covers its eBPF filter",
  );

  cgTest(
    'v1 device rules: letters other than r, w and m are ignored, as runc does (runc\'s tests write "rwa")',
    ["devices"],
    (t) => {
      const { cg } = t;
      cg.create();
      cg.set({
        devices: [
          { allow: false, access: "rwm" },
          { allow: true, type: "c", major: 1, minor: 3, access: "rwa" },
          { allow: true, type: "c", major: 1, minor: 11, access: "rwm" },
          { allow: false, type: "c", major: 1, minor: 11, access: "rwa" },
        ],
      });
      const list = fs.readFileSync(`${cg.paths.devices}/devices.list`, "utf8");
      expect(list.trim().split("\n").sort()).toEqual(["c 1:11 m", "c 1:3 rw"]);
    },
    layout?.v1.has("devices") ? undefined : "cgroup2 has no devices files: devices-v2.test.ts covers its eBPF filter",
  );

  const swapFile = layout?.v1.has("memory") ? "memory.memsw.limit_in_bytes" : "memory.swap.max";
  cgTest(
    "memory+swap uses memsw on v1 and swap.max on v2",
    ["memory"],
    (t) => {
      const { cg } = t;
      cg.create();
      const v1 = layout!.v1.has("memory");
      cg.set({ memory: { limit: 32 << 20, swap: 96 << 20 } });
      expect(knob(cg, "memory", swapFile)).toBe(String(v1 ? 96 << 20 : 64 << 20));
      // Raising both above the current limit needs memsw first on v1; it must just work.
      cg.set({ memory: { limit: 200 << 20, swap: 400 << 20 } });
      expect(knob(cg, "memory", v1 ? "memory.limit_in_bytes" : "memory.max")).toBe(String(200 << 20));
      cg.set({ memory: { limit: -1 } });
      expect(cgroupStats(cg).memory.usage.limit).toBeGreaterThan(2 ** 62);
    },
    noFile("memory", swapFile) && `${noFile("memory", swapFile)} (swap accounting off)`,
  );

  cgTest("huge page limits go wherever hugetlb lives (v2 on hybrid)", ["hugetlb"], (t) => {
    const { cg } = t;
    cg.create();
    cg.set({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] });
    const file = layout!.v1.has("hugetlb") ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max";
    expect(knob(cg, "hugetlb", file)).toBe(String(4 << 20));
    expect(cgroupStats(cg).hugetlb["2MB"]).toBeDefined();
  });

  // A setting this machine has no file for is an error naming the OCI field.
  cgTest(
    "blockIO.leafWeight without a blkio.leaf_weight file is refused",
    ["blkio"],
    (t) => {
      t.cg.create();
      expect(() => t.cg.set({ blockIO: { leafWeight: 500 } })).toThrow(
        "linux.resources.blockIO.leafWeight: this kernel has no blkio.leaf_weight file",
      );
    },
    noFile("blkio", "blkio.leaf_weight") ? undefined : "this kernel has a blkio.leaf_weight file",
  );

  cgTest(
    "network.classID without a net_cls controller is refused",
    [],
    (t) => {
      t.cg.create();
      expect(() => t.cg.set({ network: { classID: 1 } })).toThrow(
        /^linux\.resources\.network\.classID: the net_cls cgroup controller/,
      );
    },
    has("net_cls") ? "this machine has a net_cls controller" : undefined,
  );

  cgTest(
    "rdma limits without an rdma controller are refused",
    [],
    (t) => {
      t.cg.create();
      expect(() => t.cg.set({ rdma: { mlx5_0: { hcaHandles: 1 } } })).toThrow(/rdma/);
    },
    has("rdma") ? "this machine has an rdma controller" : undefined,
  );

  cgTest("unified: refused on v1 and hybrid (runc's words), an unknown file named with it on v2", [], (t) => {
    t.cg.create();
    if (layout!.mode !== "v2")
      expect(() => t.cg.set({ unified: { "memory.high": "1" } })).toThrow(
        /invalid configuration: cannot use unified on cgroup v1/,
      );
    else
      expect(() => t.cg.set({ unified: { "memory.nosuch": "1" } })).toThrow(/^linux\.resources\.unified\["memory\.nosuch"\]: /);
  });

  cgTest("memory.useHierarchy false: the kernel's EINVAL on v1, refused on v2", ["memory"], (t) => {
    t.cg.create();
    const v1 = layout!.v1.has("memory");
    expect(() => t.cg.set({ memory: { useHierarchy: false } })).toThrow(
      v1
        ? /^linux\.resources\.memory\.useHierarchy: write "0" to .*: invalid argument \(EINVAL\)$/
        : "linux.resources.memory.useHierarchy: cgroup v2 memory accounting is always hierarchical",
    );
  });

  // On hybrid the cgroup2 tree is real but holds few controllers. A layout made of its mount
  // alone drives the pure-v2 code paths (cgroup.freeze, cgroup.events, cgroup.kill, the v2
  // device policy) against the real kernel.
  const v2Only = (() => {
    if (!isRoot || !layout?.v2Root || layout.mode === "v2") return undefined;
    const lines = fs
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(" - cgroup2 "));
    return detectCgroupLayout(`${lines.join("\n")}\n`);
  })();
  const v2Why = !isRoot
    ? "needs root"
    : !layout?.v2Root
      ? "no cgroup2 mount"
      : layout.mode === "v2"
        ? "pure v2 machine: covered above"
        : "";
  (v2Why ? test.skip : test)(
    `the cgroup2 tree alone: join, freeze, kill, destroy${v2Why ? ` (skipped: ${v2Why})` : ""}`,
    async () => {
      const t = new Scratch();
      const cg = openCgroup(v2Only!, t.path);
      try {
        expect(v2Only!.mode).toBe("v2");
        expect(Object.keys(cg.paths)).toEqual([""]);
        cg.create();
        const set = cg.set({
          devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules],
          ...(v2Only!.v2Controllers.includes("hugetlb") ? { hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] } : {}),
        });
        expect(set.warnings).toEqual([]);
        // The device rules come back as an eBPF program for the helper to attach.
        expect(set.deviceFilter?.dir).toBe(cg.paths[""]);
        expect(set.deviceFilter?.program.length).toBeGreaterThan(0);
        if (!v2Only!.v2Controllers.includes("memory")) {
          expect(() => cg.set({ memory: { limit: 1 << 20 } })).toThrow(
            "linux.resources.memory: the memory cgroup controller is not available on this machine",
          );
        }
        const child = t.spawn("while :; do :; done");
        cg.apply(child.pid!);
        expect(procCgroup(child.pid!)).toContain(`0::${t.path}\n`);
        expect(cg.pids()).toEqual([child.pid!]);
        await cg.freeze();
        expect(fs.readFileSync(`${cg.paths[""]}/cgroup.events`, "utf8")).toContain("frozen 1");
        expect(cg.frozen()).toBe(true);
        const before = cpuTicks(child.pid!);
        await sleep(300);
        expect(cpuTicks(child.pid!)).toBe(before);
        cg.thaw();
        expect(cg.frozen()).toBe(false);
        await cg.killAll("SIGKILL"); // through cgroup.kill
        await exited(child);
        expect(child.signalCode).toBe("SIGKILL");
        await cg.destroy();
        expect(fs.existsSync(cg.paths[""]!)).toBe(false);
      } finally {
        await t.cleanup();
        try {
          await cg.destroy();
          await openCgroup(v2Only!, t.parent).destroy();
        } catch (e) {
          console.error(`cleanup: ${(e as Error).message}`);
        }
      }
    },
  );

  const weightFile = ["blkio.weight", "blkio.bfq.weight"].find((f) => childFiles.get("blkio")?.has(f));
  cgTest(
    "blkio weight lands in the weight file",
    ["blkio"],
    (t) => {
      const { cg } = t;
      cg.create();
      cg.set({ blockIO: { weight: 300 } });
      expect(fs.readFileSync(cg.home("blkio")!.file(weightFile!), "utf8")).toContain("300");
    },
    noFile("blkio", "blkio.weight", "blkio.bfq.weight") &&
      `${noFile("blkio", "blkio.weight", "blkio.bfq.weight")} (no CFQ or BFQ)`,
  );

  cgTest(
    "blkio read throttle lands in blkio.throttle.read_bps_device",
    ["blkio"],
    (t) => {
      const { cg } = t;
      cg.create();
      const { major, minor } = blockDevice!;
      cg.set({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }] } });
      expect(fs.readFileSync(cg.home("blkio")!.file("blkio.throttle.read_bps_device"), "utf8").trim()).toBe(
        `${major}:${minor} ${1 << 20}`,
      );
    },
    blockDevice ? undefined : "no block device in /sys/block",
  );
});
