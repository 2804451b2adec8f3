import { describe, expect, test } from "bun:test";
import { defaultSpec } from "../../src/oci/default-spec.ts";
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from "../../src/oci/namespaces.ts";
import type { Spec } from "../../src/oci/types.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import type { PlanContext } from "../../src/plan/context.ts";
import { compileExecPlan } from "../../src/plan/exec.ts";
import { CloneMode } from "../../src/plan/ops.ts";
import { PID_HOLE, withPidHoles } from "../../src/plan/state-json.ts";
import { compileSeccomp } from "../../src/seccomp/index.ts";

const host = { root: true, isDirectory: (p: string) => !p.endsWith(".conf"), exists: (p: string) => p !== "/missing" };

function ctx(over: Partial<PlanContext> = {}): PlanContext {
  return {
    id: "c1",
    mode: "run",
    bundle: "/b",
    execFifo: "/run/husk/c1/exec.fifo",
    noPivot: false,
    noNewKeyring: false,
    preserveFds: 0,
    cgroupMount: {
      kind: "v1",
      hierarchies: [{ name: "memory", hostPath: "/sys/fs/cgroup/memory/husk/c1", data: "memory", fstype: "cgroup" }],
    },
    cgroupJoin: { tasks: ["/sys/fs/cgroup/memory/husk/c1/tasks"], dir: "" },
    host,
    compileSeccomp,
    ...over,
  };
}

function spec(edit?: (s: Spec) => void): Spec {
  const s = defaultSpec({ args: ["/bin/true"] });
  if (s.process) s.process.terminal = false;
  edit?.(s);
  return s;
}

const ops = (s: Spec, c = ctx()) => compilePlan(s, c).steps.map((st) => st.op.op);

describe("compilePlan", () => {
  test("the default spec compiles to the expected op sequence", () => {
    expect(
      compilePlan(spec(), ctx()).steps.map((st) => `${st.op.op}: ${st.what}${st.origin ? ` (${st.origin})` : ""}`),
    ).toMatchSnapshot();
  });

  test("--init: the init op comes last before exec, after the start barrier; none without it", () => {
    const list = ops(spec(), ctx({ mode: "create", init: true }));
    expect(list.slice(-2)).toEqual(["init", "exec"]);
    expect(list.indexOf("waitStart")).toBeLessThan(list.indexOf("init"));
    expect(ops(spec(), ctx({ mode: "create" }))).not.toContain("init");
  });

  test("clone carries the new namespaces; cgroup and time are unshared separately", () => {
    const s = spec((x) => {
      x.linux = {
        ...x.linux,
        namespaces: [
          { type: "pid" },
          { type: "network" },
          { type: "ipc" },
          { type: "uts" },
          { type: "mount" },
          { type: "cgroup" },
          { type: "time" },
        ],
      };
    });
    const plan = compilePlan(s, ctx()).steps;
    const clone = plan.find((st) => st.op.op === "clone");
    expect(clone?.op).toEqual({
      op: "clone",
      flags: CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS,
      mode: CloneMode.Wait,
    });
    const cloneAt = plan.indexOf(clone as never);
    const timeAt = plan.findIndex((st) => st.op.op === "unshare" && st.what === "create time namespace");
    const cgroupAt = plan.findIndex((st) => st.op.op === "unshare" && st.what === "create cgroup namespace");
    const joinAt = plan.findIndex((st) => st.op.op === "joinCgroup");
    expect(timeAt).toBeLessThan(cloneAt);
    expect(joinAt).toBe(cloneAt + 1);
    expect(cgroupAt).toBeGreaterThan(joinAt);
  });

  test("the cgroup files are opened before any namespace is joined, and joined first in the child", () => {
    const s = spec((x) => {
      x.linux = { ...x.linux, namespaces: [{ type: "mount" }, { type: "network", path: "/run/netns/n" }] };
    });
    const cgroupJoin = { tasks: ["/sys/fs/cgroup/memory/husk/c1/tasks"], dir: "/sys/fs/cgroup/unified/husk/c1" };
    const plan = compilePlan(s, ctx({ cgroupJoin })).steps;
    expect(plan.slice(0, 4).map((st) => st.op.op)).toEqual(["openCgroup", "setns", "clone", "joinCgroup"]);
    expect(plan[0]?.op).toEqual({ op: "openCgroup", ...cgroupJoin });
    // Rootless: no cgroup, no steps.
    expect(ops(s, ctx({ cgroupJoin: { tasks: [], dir: "" } }))).not.toContain("openCgroup");
    expect(ops(s, ctx({ cgroupJoin: undefined }))).not.toContain("joinCgroup");
  });

  test("the child waits for husk only when there are id maps to write", () => {
    expect(ops(spec())).not.toContain("waitContinue");
    const userns = spec((x) => {
      x.linux = {
        ...x.linux,
        namespaces: [...(x.linux?.namespaces ?? []), { type: "user" }],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      };
    });
    expect(ops(userns).filter((o) => o === "waitContinue")).toHaveLength(1);
  });

  test("joined namespaces come first, user before the others and mount last", () => {
    const s = spec((x) => {
      x.linux = {
        ...x.linux,
        namespaces: [
          { type: "mount", path: "/proc/9/ns/mnt" },
          { type: "network", path: "/run/netns/a" },
          { type: "user", path: "/proc/9/ns/user" },
          { type: "pid" },
        ],
      };
    });
    const joins = compilePlan(s, ctx())
      .steps.filter((st) => st.op.op === "setns")
      .map((st) => (st.op as { path: string }).path);
    expect(joins).toEqual(["/proc/9/ns/user", "/run/netns/a", "/proc/9/ns/mnt"]);
  });

  test("create mode detaches, opens the state dir before the root switch and waits for start before exec", () => {
    const list = ops(spec(), ctx({ mode: "create" }));
    expect(list.indexOf("openExecFifo")).toBeLessThan(list.indexOf("pivotRoot"));
    expect(list.at(-2)).toBe("waitStart");
    expect(list.at(-1)).toBe("exec");
    const clone = compilePlan(spec(), ctx({ mode: "create" })).steps.find((st) => st.op.op === "clone");
    expect((clone?.op as { mode: number } | undefined)?.mode).toBe(CloneMode.Detach);
  });

  test("--no-pivot switches with chrootMove", () => {
    const list = ops(spec(), ctx({ noPivot: true }));
    expect(list).toContain("chrootMove");
    expect(list).not.toContain("pivotRoot");
  });

  test("a read-only bind mount is a bind followed by a remount", () => {
    const s = spec((x) => {
      x.mounts = [{ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro", "nosuid"] }];
    });
    const mounts = compilePlan(s, ctx())
      .steps.filter((st) => st.origin === "mounts[0]")
      .map((st) => st.op);
    expect(mounts).toEqual([
      { op: "mkdirAll", path: "/data", mode: 0o755 },
      {
        op: "mount",
        source: "/srv/data",
        sourceWhere: 0,
        target: "/data",
        targetWhere: 1,
        fstype: "",
        flags: 4096 | 16384,
        data: "",
      },
      {
        op: "mount",
        source: "",
        sourceWhere: 0,
        target: "/data",
        targetWhere: 1,
        fstype: "",
        flags: 4096 | 32 | 1 | 2,
        data: "",
      },
    ]);
  });

  test("in a new user namespace, a root caller's bind sources and console socket are opened before clone (runc's order)", () => {
    const s = spec((x) => {
      x.process!.terminal = true;
      x.linux = {
        ...x.linux,
        namespaces: [...(x.linux?.namespaces ?? []), { type: "user" }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      };
      x.mounts = [
        { destination: "/a", type: "bind", source: "src/a", options: ["bind"] },
        { destination: "/b", type: "bind", source: "/data", options: ["rbind", "ro"] },
      ];
    });
    const steps = compilePlan(s, ctx({ mode: "create", consoleSocket: "/run/sock" })).steps;
    const list = steps.map((st) => st.op.op);
    expect(steps.filter((st) => st.op.op === "openTree").map((st) => st.op)).toEqual([
      { op: "openTree", slot: 0, source: "/b/src/a", recursive: false },
      { op: "openTree", slot: 1, source: "/data", recursive: true },
    ]);
    expect(list.lastIndexOf("openTree")).toBeLessThan(list.indexOf("clone"));
    expect(list.indexOf("consoleConnect")).toBeLessThan(list.indexOf("clone"));
    expect(steps.filter((st) => st.op.op === "attachMount").map((st) => st.op)).toEqual([
      { op: "attachMount", slot: 0, target: "/a" },
      { op: "attachMount", slot: 1, target: "/b" },
    ]);
    // The read-only remount still follows the attach.
    expect(list[list.lastIndexOf("attachMount") + 1]).toBe("mount");
    // A rootless caller may not open_tree on the host: its own sources are reachable by path.
    const rootless = compilePlan(s, ctx({ mode: "create", consoleSocket: "/run/sock", host: { ...host, root: false } }));
    expect(rootless.steps.map((st) => st.op.op)).not.toContain("openTree");
    // Without a user namespace nothing changes: the child binds by path.
    const plain = compilePlan(
      { ...s, linux: { ...s.linux, namespaces: spec().linux?.namespaces } },
      ctx({ mode: "create", consoleSocket: "/run/sock" }),
    );
    expect(plain.steps.map((st) => st.op.op)).not.toContain("openTree");
  });

  test("an engine's rootfs filesystem is made by the helper's parent with the mount points on it, and moved into place by the child", () => {
    const rootfsMount = { fstype: "overlay", source: "overlay", data: "lowerdir=/l,upperdir=/u,workdir=/w,index=off" };
    const s = spec((x) => {
      x.mounts = [
        ...(x.mounts ?? []),
        { destination: "/etc/hosts", type: "bind", source: "/c/hosts.conf", options: ["rbind"] },
        { destination: "/etc/resolv.conf", type: "bind", source: "/c/resolv.conf", options: ["rbind"] },
        { destination: "/data", type: "bind", source: "/vol", options: ["rbind"] },
        { destination: "/data/inner", type: "bind", source: "/vol2", options: ["rbind"] },
        { destination: "/scratch", type: "tmpfs", source: "tmpfs" },
        {
          destination: "/idmapped",
          type: "bind",
          source: "/vol3",
          options: ["bind", "idmap"],
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        },
      ];
    });
    const steps = compilePlan(s, ctx({ rootfsMount })).steps;
    const list = steps.map((st) => st.op.op);
    const clone = list.indexOf("clone");
    expect(steps[list.indexOf("fsMount")]?.op).toEqual({ op: "fsMount", slot: 0, ...rootfsMount });
    expect(list.indexOf("fsMount")).toBeLessThan(clone);
    const rootMounts = steps.filter((st) => st.op.op === "mount" && st.op.fstype === "overlay");
    expect(rootMounts).toEqual([]);
    expect(steps.find((st) => st.op.op === "mountRootfs")?.op).toEqual({
      op: "mountRootfs",
      slot: 0,
      target: "/b/rootfs",
      ...rootfsMount,
    });
    expect(list.indexOf("mountRootfs")).toBeLessThan(list.indexOf("openRoot"));
    // The id-mapped mount takes the next slot.
    expect(steps.find((st) => st.op.op === "idmapMount")?.op).toMatchObject({ slot: 1, source: "/vol3" });
    // Made ahead: what sits on the root's own filesystem; not what a mount before it holds
    // (/dev/pts in /dev's tmpfs, /data/inner in the volume), nor a tmpfs' (the tmpfs op
    // takes the mode of a directory it finds), and all before clone.
    const ahead = steps.filter((st) => st.op.op === "precreate");
    expect(ahead.map((st) => st.op)).toEqual(
      ["/proc", "/sys", "/etc/hosts", "/etc/resolv.conf", "/data", "/idmapped"].map((path) => ({
        op: "precreate",
        slot: 0,
        path,
        dir: !path.startsWith("/etc/"),
      })),
    );
    expect(list.lastIndexOf("precreate")).toBeLessThan(clone);
    // The child still makes each mount point itself (the parent's is only ahead of it).
    expect(steps.filter((st) => st.op.op === "mkfile").map((st) => st.op.op === "mkfile" && st.op.path)).toEqual([
      "/etc/hosts",
      "/etc/resolv.conf",
    ]);
    // For a caller who is not root, or in a user namespace, the child mounts it as before.
    const rootless = compilePlan(s, ctx({ rootfsMount, host: { ...host, root: false } })).steps;
    expect(rootless.map((st) => st.op.op)).not.toContain("fsMount");
    expect(rootless.map((st) => st.op.op)).not.toContain("precreate");
    expect(rootless.filter((st) => st.op.op === "mount" && st.op.fstype === "overlay")).toHaveLength(1);
    const inUserNs = spec((x) => {
      x.mounts = s.mounts?.filter((m) => m.destination !== "/idmapped");
      x.linux = {
        ...x.linux,
        namespaces: [...(x.linux?.namespaces ?? []), { type: "user" }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      };
    });
    const userns = compilePlan(inUserNs, ctx({ rootfsMount })).steps;
    expect(userns.map((st) => st.op.op)).not.toContain("fsMount");
    expect(userns.filter((st) => st.op.op === "mount" && st.op.fstype === "overlay")).toHaveLength(1);
  });

  test("id-mapped bind mounts are made by the helper's parent before clone and attached by the child", () => {
    const s = spec((x) => {
      x.linux = {
        ...x.linux,
        namespaces: [...(x.linux?.namespaces ?? []), { type: "network", path: "/run/netns/n" }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
      };
      x.mounts = [
        ...(x.mounts ?? []),
        { destination: "/own", type: "bind", source: "/data", options: ["rbind", "ridmap"] },
        {
          destination: "/explicit",
          type: "bind",
          source: "/data",
          options: ["bind"],
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
        },
      ];
    });
    const steps = compilePlan(s, ctx()).steps;
    const list = steps.map((st) => st.op.op);
    const made = steps.filter((st) => st.op.op === "idmapMount").map((st) => st.op);
    expect(made).toEqual([
      { op: "idmapMount", slot: 0, source: "/data", recursion: 3, uidMap: [0, 100000, 65536], gidMap: [0, 200000, 65536] },
      { op: "idmapMount", slot: 1, source: "/data", recursion: 0, uidMap: [0, 1000, 1], gidMap: [0, 1001, 1] },
    ]);
    // On the host, before any namespace is joined; attached inside, in order.
    expect(list.lastIndexOf("idmapMount")).toBeLessThan(list.indexOf("setns"));
    const attached = steps.filter((st) => st.op.op === "attachMount").map((st) => st.op);
    expect(attached).toEqual([
      { op: "attachMount", slot: 0, target: "/own" },
      { op: "attachMount", slot: 1, target: "/explicit" },
    ]);
    expect(list.indexOf("attachMount")).toBeGreaterThan(list.indexOf("openRoot"));
    // "idmap" in a container whose user namespace is joined, so whose mappings husk does not know:
    const joined = spec((x) => {
      x.linux = { ...x.linux, namespaces: [...(x.linux?.namespaces ?? []), { type: "user", path: "/proc/1/ns/user" }] };
      x.mounts = [{ destination: "/own", type: "bind", source: "/data", options: ["bind", "idmap"] }];
    });
    expect(() => compilePlan(joined, ctx())).toThrow("mounts[0]: an id-mapped mount needs uidMappings and gidMappings");
  });

  test('recursive attributes ("rro", "rnosuid") become one mountSetattr after the mount', () => {
    const s = spec((x) => {
      x.mounts = [{ destination: "/data", type: "bind", source: "/data", options: ["rbind", "rro", "rnosuid"] }];
    });
    const steps = compilePlan(s, ctx()).steps;
    const list = steps.map((st) => st.op.op);
    const set = steps.find((st) => st.op.op === "mountSetattr");
    expect(set?.op).toEqual({ op: "mountSetattr", target: "/data", attrSet: 0x1 | 0x2, attrClr: 0 });
    expect(list.indexOf("mountSetattr")).toBe(
      list.findIndex((o, i) => o === "mount" && (steps[i]?.what ?? "").includes('on "/data"')) + 1,
    );
  });

  test("tmpfs mounts: tmpcopyup, and the covered directory's mode unless the data sets one", () => {
    const s = spec((x) => {
      x.mounts = [{ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup", "size=1m"] }];
    });
    const step = compilePlan(s, ctx()).steps.find((st) => st.op.op === "tmpfs" && st.origin === "mounts[0]");
    expect(step?.op).toEqual({
      op: "tmpfs",
      target: "/run",
      flags: 2,
      data: "size=1m",
      source: "tmpfs",
      copyUp: true,
      inheritMode: true,
    });
    const dev = compilePlan(spec(), ctx()).steps.find(
      (st) => st.op.op === "tmpfs" && (st.op as { target: string }).target === "/dev",
    );
    expect(dev?.op).toMatchObject({ copyUp: false, inheritMode: false, data: "mode=755,size=65536k" });
    const bad = spec((x) => {
      x.mounts = [{ destination: "/x", type: "proc", source: "proc", options: ["tmpcopyup"] }];
    });
    expect(() => compilePlan(bad, ctx())).toThrow('mounts[0].options: "tmpcopyup" only applies to tmpfs mounts');
  });

  test("a file bind mount gets a file as its mount point", () => {
    const s = spec((x) => {
      x.mounts = [{ destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["bind"] }];
    });
    expect(compilePlan(s, ctx()).steps.find((st) => st.origin === "mounts[0]")?.op.op).toBe("mkfile");
  });

  test("a missing bind source is an error naming the mount", () => {
    const s = spec((x) => {
      x.mounts = [{ destination: "/x", type: "bind", source: "/missing", options: ["bind"] }];
    });
    expect(() => compilePlan(s, ctx())).toThrow(
      'bind mount source "/missing" (mounts[0].source): no such file or directory (ENOENT)',
    );
  });

  test("a user namespace binds device nodes instead of mknod and maps root", () => {
    const s = spec((x) => {
      x.linux = {
        ...x.linux,
        namespaces: [{ type: "user" }, { type: "mount" }, { type: "pid" }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      };
    });
    const compiled = compilePlan(s, ctx());
    const list = compiled.steps.map((st) => st.op.op);
    expect(list).not.toContain("mknod");
    expect(compiled.steps.find((st) => st.what === 'bind mount device "/dev/null"')).toBeDefined();
    expect(compiled.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(compiled.denySetgroups).toBe(false);
    expect(list.indexOf("setresuid")).toBeGreaterThan(list.indexOf("waitContinue"));
    const clone = compiled.steps.find((st) => st.op.op === "clone")?.op as { flags: number };
    expect(clone.flags & CLONE_NEWUSER).toBe(CLONE_NEWUSER);
  });

  test("without a user namespace of its own, groups are set only where the caller's user namespace allows it", () => {
    const groups = (h: Partial<typeof host> & { setgroups?: boolean }) =>
      compilePlan(spec(), ctx({ host: { ...host, ...h } })).steps.filter((st) => st.op.op === "setgroups").length;
    expect(groups({ root: false, setgroups: true })).toBe(1);
    expect(groups({ root: false, setgroups: false })).toBe(0);
    expect(groups({ root: true })).toBe(1);
  });

  test("a caller that is not root on the host binds device nodes too (rootless podman: no new user namespace)", () => {
    const compiled = compilePlan(spec(), ctx({ host: { ...host, root: false } }));
    expect(compiled.steps.map((st) => st.op.op)).not.toContain("mknod");
    expect(compiled.steps.find((st) => st.what === 'bind mount device "/dev/null"')).toBeDefined();
  });

  test("ambient capabilities are raised only when permitted and inheritable", () => {
    const withInheritable = spec((x) => {
      if (x.process?.capabilities) x.process.capabilities.inheritable = ["CAP_KILL"];
    });
    const amb = compilePlan(withInheritable, ctx()).steps.find((st) => st.op.op === "capAmbient");
    expect(amb?.op).toEqual({ op: "capAmbient", raise: 1n << 5n });
    expect(ops(spec())).not.toContain("capAmbient");
  });

  test("rlimits: infinity becomes -1 and the step names its origin", () => {
    const s = spec((x) => {
      if (x.process) x.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2 ** 64 - 1 }];
    });
    const step = compilePlan(s, ctx()).steps.find((st) => st.op.op === "setrlimit");
    expect(step?.origin).toBe("process.rlimits[0]");
    expect(step?.op).toEqual({ op: "setrlimit", resource: 7, soft: 1024, hard: -1 });
  });

  test("create hooks add a second sync point before the root switch", () => {
    const s = spec((x) => {
      x.hooks = { createRuntime: [{ path: "/bin/true" }] };
    });
    const compiled = compilePlan(s, ctx());
    const list = compiled.steps.map((st) => st.op.op);
    expect(compiled.hooksStep).toBeGreaterThan(0);
    expect(list[compiled.hooksStep]).toBe("waitContinue");
    expect(compiled.hooksStep).toBeLessThan(list.indexOf("pivotRoot"));
    expect(compilePlan(spec(), ctx()).hooksStep).toBe(-1);
  });

  test("the caller's pause (pauseForCaller): without hooks after the root switch, before the credentials; with hooks where they run", () => {
    const late = compilePlan(spec(), ctx({ pauseForCaller: true }));
    const list = late.steps.map((st) => st.op.op);
    expect(list[late.hooksStep]).toBe("waitContinue");
    expect(list.filter((op) => op === "waitContinue").length).toBe(1);
    expect(late.hooksStep).toBeGreaterThan(list.indexOf("pivotRoot"));
    expect(late.hooksStep).toBeLessThan(list.indexOf("capset"));
    for (const hooks of [{ createRuntime: [{ path: "/x" }] }, { createContainer: [{ path: "/x" }] }]) {
      const early = compilePlan(
        spec((x) => {
          x.hooks = hooks;
        }),
        ctx({ pauseForCaller: true }),
      );
      const ops = early.steps.map((st) => st.op.op);
      expect(ops[early.hooksStep]).toBe("waitContinue");
      expect(ops.filter((op) => op === "waitContinue").length).toBe(1);
      expect(early.hooksStep).toBeLessThan(ops.indexOf("pivotRoot"));
    }
  });

  test("parentNetlink: asked for by the helper's parent before clone, waited for by the child just before the caller's pause", () => {
    const late = compilePlan(spec(), ctx({ pauseForCaller: true, parentNetlink: true }));
    const list = late.steps.map((st) => st.op.op);
    expect(list.filter((op) => op === "parentNetlink").length).toBe(1);
    expect(list.indexOf("parentNetlink")).toBe(list.indexOf("clone") - 1);
    expect(list.filter((op) => op === "waitParentNetlink").length).toBe(1);
    expect(list[late.hooksStep - 1]).toBe("waitParentNetlink");
    expect(late.hooksStep).toBeGreaterThan(list.indexOf("pivotRoot"));
    // With hooks the pause is before the root switch: the network is there for them.
    const early = compilePlan(
      spec((x) => {
        x.hooks = { createRuntime: [{ path: "/x" }] };
      }),
      ctx({ pauseForCaller: true, parentNetlink: true }),
    );
    const ops = early.steps.map((st) => st.op.op);
    expect(ops[early.hooksStep - 1]).toBe("waitParentNetlink");
    expect(early.hooksStep).toBeLessThan(ops.indexOf("pivotRoot"));
    // Without a pause, where it would be; without the option, neither op.
    const alone = compilePlan(spec(), ctx({ parentNetlink: true })).steps.map((st) => st.op.op);
    expect(alone.indexOf("waitParentNetlink")).toBeGreaterThan(alone.indexOf("pivotRoot"));
    expect(alone.indexOf("waitParentNetlink")).toBeLessThan(alone.indexOf("capset"));
    const none = compilePlan(spec(), ctx({ pauseForCaller: true })).steps.map((st) => st.op.op);
    expect(none.filter((op) => op === "parentNetlink" || op === "waitParentNetlink")).toEqual([]);
  });

  test("createContainer hooks run in the container before the root switch, startContainer after start", () => {
    const s = spec((x) => {
      x.annotations = { a: "b" };
      x.hooks = {
        createContainer: [{ path: "/usr/bin/cc-hook", env: ["A=1"], timeout: 5 }],
        startContainer: [{ path: "/bin/sc-hook", args: ["sc", "-x"] }],
      };
    });
    const compiled = compilePlan(s, ctx({ mode: "create" }));
    const list = compiled.steps.map((st) => st.op.op);
    const hooks = compiled.steps.filter((st) => st.op.op === "runHook");
    expect(hooks.map((h) => h.origin)).toEqual(["hooks.createContainer[0]", "hooks.startContainer[0]"]);
    // Without prestart/createRuntime hooks there is nothing for husk to do: no stop.
    expect(compiled.hooksStep).toBe(-1);
    expect(list.indexOf("runHook")).toBeLessThan(list.indexOf("pivotRoot"));
    const withRuntime = compilePlan({ ...s, hooks: { ...s.hooks, createRuntime: [{ path: "/x" }] } }, ctx({ mode: "create" }));
    const list2 = withRuntime.steps.map((st) => st.op.op);
    expect(list2[withRuntime.hooksStep]).toBe("waitContinue");
    // Then, from the rootfs as runc runs them, the createContainer hooks.
    expect(withRuntime.steps[withRuntime.hooksStep + 1]?.op).toEqual({ op: "chdir", path: "/b/rootfs", optional: false });
    expect(list2.indexOf("runHook")).toBe(withRuntime.hooksStep + 2);
    expect(list.lastIndexOf("runHook")).toBe(list.indexOf("waitStart") + 1);
    expect(list.at(-1)).toBe("exec");
    const [cc, sc] = hooks.map((h) => h.op as Extract<typeof h.op, { op: "runHook" }>);
    expect(cc).toMatchObject({ path: "/usr/bin/cc-hook", args: ["/usr/bin/cc-hook"], env: ["A=1"], timeout: 5 });
    expect(sc).toMatchObject({ args: ["sc", "-x"], env: [], timeout: 0 });
    // The helper puts the pid between the halves: the result is the state JSON.
    expect(JSON.parse(cc?.state.join("4242") ?? "")).toEqual({
      ociVersion: s.ociVersion,
      id: "c1",
      status: "created",
      pid: 4242,
      bundle: "/b",
      annotations: { a: "b" },
    });
    // run: no start barrier, the hook runs just before exec.
    const run = ops(s, ctx({ mode: "run" }));
    expect(run.at(-2)).toBe("runHook");
  });

  test("a terminal without a console socket: refused for create, proxied by the helper for a foreground run", () => {
    const s = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    expect(() => compilePlan(s, ctx({ mode: "create" }))).toThrow("a terminal needs --console-socket");
    const run = ops(s, ctx({ mode: "run" }));
    expect(run[0]).toBe("consoleProxy");
    expect(run.indexOf("consoleProxy")).toBeLessThan(run.indexOf("clone"));
    expect(run).toContain("console");
    expect(run).not.toContain("consoleConnect");
  });

  test("a terminal with a monitor (the engine's run -dt): the pair is made before the monitor forks, which keeps the master", () => {
    const s = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    const monitor = { log: "/l", exitFile: "/e", cleanup: [], env: [] };
    const list = ops(s, ctx({ mode: "create", monitor }));
    expect(list[0]).toBe("consoleProxy");
    expect(list.indexOf("consoleProxy")).toBeLessThan(list.indexOf("monitor"));
    expect(list.indexOf("console")).toBeLessThan(list.indexOf("waitStart"));
    expect(list).not.toContain("consoleConnect");
  });

  test("ownerLifeline: just before a Wait-mode clone when asked, never for create or a proxied terminal", () => {
    const run = ops(spec(), ctx({ mode: "run", ownerLifeline: true }));
    expect(run.indexOf("ownerLifeline")).toBe(run.indexOf("clone") - 1);
    expect(ops(spec(), ctx({ mode: "run" }))).not.toContain("ownerLifeline");
    expect(ops(spec(), ctx({ mode: "create", ownerLifeline: true }))).not.toContain("ownerLifeline");
    const tty = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    expect(ops(tty, ctx({ mode: "run", ownerLifeline: true }))).not.toContain("ownerLifeline");
  });

  test("cgroupRemoveOnExit: with the lifeline, before a Wait-mode clone, the directories given; never without it, for create, none or a proxied terminal", () => {
    const dirs = ["/sys/fs/cgroup/memory/husk/c1", "/sys/fs/cgroup/unified/husk/c1"];
    const steps = compilePlan(spec(), ctx({ mode: "run", ownerLifeline: true, cgroupRemoveOnExit: dirs })).steps;
    const list = steps.map((s) => s.op.op);
    const at = list.indexOf("cgroupRemoveOnExit");
    expect(at).toBeGreaterThan(list.indexOf("ownerLifeline"));
    expect(at).toBeLessThan(list.indexOf("clone"));
    expect(steps[at]?.op).toEqual({ op: "cgroupRemoveOnExit", dirs });
    // Only with the lifeline: without its MSG_EXITED, husk would not know they are gone.
    expect(ops(spec(), ctx({ mode: "run", cgroupRemoveOnExit: dirs }))).not.toContain("cgroupRemoveOnExit");
    expect(ops(spec(), ctx({ mode: "run", ownerLifeline: true, cgroupRemoveOnExit: [] }))).not.toContain("cgroupRemoveOnExit");
    expect(ops(spec(), ctx({ mode: "create", ownerLifeline: true, cgroupRemoveOnExit: dirs }))).not.toContain(
      "cgroupRemoveOnExit",
    );
    const tty = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    expect(ops(tty, ctx({ mode: "run", ownerLifeline: true, cgroupRemoveOnExit: dirs }))).not.toContain("cgroupRemoveOnExit");
  });

  test("cgroupMake: the fresh cgroup's directories, then each file's values, in the helper's parent before it opens the cgroup", () => {
    const cgroupMake = {
      dirs: ["/sys/fs/cgroup/devices/husk/c1", "/sys/fs/cgroup/cpuset/husk/c1"],
      parents: true,
      frozen: ["/sys/fs/cgroup/freezer/husk"],
      delegate: [],
      cpuset: "/sys/fs/cgroup/cpuset/husk/c1",
      writes: [
        { path: "/sys/fs/cgroup/devices/husk/c1/devices.deny", values: ["a *:* rwm"], origin: "linux.resources.devices" },
        {
          path: "/sys/fs/cgroup/devices/husk/c1/devices.allow",
          values: ["c 1:3 rwm", "c 1:5 rwm"],
          origin: "linux.resources.devices",
        },
      ],
    };
    const cgroupJoin = { tasks: cgroupMake.dirs.map((d) => `${d}/tasks`), dir: "" };
    const steps = compilePlan(spec(), ctx({ mode: "run", cgroupJoin, cgroupMake })).steps;
    const list = steps.map((s) => s.op.op);
    const at = list.indexOf("cgroupMkdirs");
    expect(list.slice(at, at + 4)).toEqual(["cgroupMkdirs", "cgroupWrite", "cgroupWrite", "openCgroup"]);
    expect(at).toBeLessThan(list.indexOf("clone"));
    expect(steps[at]).toMatchObject({
      op: { op: "cgroupMkdirs", dirs: cgroupMake.dirs, parents: true, frozen: cgroupMake.frozen, cpuset: cgroupMake.cpuset },
      // A refusal's detail names a directory, a frozen parent, or the cpuset's copy, in that order.
      parts: [
        ...cgroupMake.dirs.map((d) => `mkdir ${d}`),
        "join cgroup /sys/fs/cgroup/freezer/husk",
        "copy cpuset.cpus and cpuset.mems to /sys/fs/cgroup/cpuset/husk/c1 from its parent",
      ],
      errors: { EBUSY: "container's cgroup unexpectedly frozen" },
    });
    // A refused rule is named by the field it came from and by its value (the step's part).
    expect(steps[at + 2]).toMatchObject({
      what: "write /sys/fs/cgroup/devices/husk/c1/devices.allow",
      origin: "linux.resources.devices",
      parts: ['"c 1:3 rwm"', '"c 1:5 rwm"'],
      op: { op: "cgroupWrite", path: cgroupMake.writes[1]?.path, values: cgroupMake.writes[1]?.values },
    });
    expect(ops(spec(), ctx({ mode: "run", cgroupJoin }))).not.toContain("cgroupMkdirs");
  });

  test("detachKeys: before clone for a proxied terminal in run mode (with the lifeline it keeps open), nowhere else", () => {
    const tty = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    const monitor = { log: "/l", exitFile: "/e", cleanup: ["/husk", "_exited", "x"], env: ["PATH=/bin"] };
    const detachKeys = { keys: Uint8Array.of(0x10, 0x11), monitor };
    const steps = compilePlan(tty, ctx({ mode: "run", ownerLifeline: true, detachKeys })).steps;
    const list = steps.map((st) => st.op.op);
    expect(steps.find((st) => st.op.op === "detachKeys")?.op).toEqual({ op: "detachKeys", keys: detachKeys.keys, ...monitor });
    expect(list.indexOf("detachKeys")).toBeLessThan(list.indexOf("clone"));
    expect(list.indexOf("ownerLifeline")).toBe(list.indexOf("clone") - 1);
    // No proxied terminal (none, or a console socket), or not a foreground run: nothing to type them on.
    expect(ops(spec(), ctx({ mode: "run", detachKeys }))).not.toContain("detachKeys");
    expect(ops(tty, ctx({ mode: "run", detachKeys, consoleSocket: "/s" }))).not.toContain("detachKeys");
    expect(ops(tty, ctx({ mode: "create", monitor, detachKeys }))).not.toContain("detachKeys");
  });

  test("attach: right after monitor or detachKeys (before clone), with its socket and stdin; none without", () => {
    const tty = spec((x) => {
      if (x.process) x.process.terminal = true;
    });
    const base = { log: "/l", exitFile: "/e", cleanup: [], env: [] };
    const monitor = { ...base, attach: { socket: "/d/attach", stdin: true } };
    const steps = compilePlan(spec(), ctx({ mode: "create", monitor })).steps;
    const list = steps.map((st) => st.op.op);
    expect(list.indexOf("attach")).toBe(list.indexOf("monitor") + 1);
    expect(list.indexOf("attach")).toBeLessThan(list.indexOf("clone"));
    expect(steps.find((st) => st.op.op === "attach")?.op).toEqual({ op: "attach", socket: "/d/attach", stdin: 1 });
    // The monitor op itself carries only its own fields.
    expect(steps.find((st) => st.op.op === "monitor")?.op).toEqual({ op: "monitor", ...base });
    const keys = ops(tty, ctx({ mode: "run", detachKeys: { keys: Uint8Array.of(0x10), monitor } }));
    expect(keys.indexOf("attach")).toBe(keys.indexOf("detachKeys") + 1);
    expect(ops(spec(), ctx({ mode: "create", monitor: base }))).not.toContain("attach");
  });

  test("personality, scheduler and I/O priority become ops before capabilities are dropped", () => {
    const s = spec((x) => {
      x.linux = { ...x.linux, personality: { domain: "LINUX32" } };
      x.process!.scheduler = { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] };
      x.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 4 };
    });
    const steps = compilePlan(s, ctx()).steps;
    const list = steps.map((st) => st.op.op);
    expect(steps.find((st) => st.op.op === "personality")?.op).toEqual({ op: "personality", persona: 8 });
    expect(steps.find((st) => st.op.op === "schedSetattr")?.op).toEqual({
      op: "schedSetattr",
      policy: 1,
      flags: 1,
      nice: 0,
      priority: 10,
      runtime: 0,
      deadline: 0,
      period: 0,
    });
    expect(steps.find((st) => st.op.op === "ioprioSet")?.op).toEqual({ op: "ioprioSet", value: (2 << 13) | 4 });
    expect(list.indexOf("schedSetattr")).toBeLessThan(list.indexOf("capBounding"));
    expect(() =>
      compilePlan(
        spec((x) => {
          x.linux = { ...x.linux, personality: { domain: "LINUX", flags: ["X"] } };
        }),
        ctx(),
      ),
    ).toThrow("linux.personality.flags: personality flags are not supported");
    expect(() =>
      compilePlan(
        spec((x) => {
          x.linux = { ...x.linux, intelRdt: { closID: "c1" } };
        }),
        ctx(),
      ),
    ).toThrow("linux.intelRdt: Intel RDT (resctrl) is not supported");
  });

  test("SELinux labels are refused on a host with SELinux, ignored with a notice on one without (as runc and crun)", () => {
    const labelled = () =>
      spec((x) => {
        x.process!.selinuxLabel = "system_u:system_r:container_t:s0";
        x.linux = { ...x.linux, mountLabel: "system_u:object_r:container_file_t:s0" };
      });
    expect(() => compilePlan(labelled(), ctx({ host: { ...host, selinux: true } }))).toThrow(
      "process.selinuxLabel: SELinux is not supported",
    );
    expect(() =>
      compilePlan(
        spec((x) => (x.linux = { ...x.linux, mountLabel: "system_u:object_r:container_file_t:s0" })),
        ctx({ host: { ...host, selinux: true } }),
      ),
    ).toThrow("linux.mountLabel: SELinux is not supported");
    const without = compilePlan(labelled(), ctx({ host: { ...host, selinux: false } }));
    expect(without.notices).toEqual([
      "process.selinuxLabel: ignored: this host has no SELinux",
      "linux.mountLabel: ignored: this host has no SELinux",
    ]);
    // An empty label asks for nothing.
    const empty = compilePlan(
      spec((x) => {
        x.process!.selinuxLabel = "";
      }),
      ctx({ host: { ...host, selinux: true } }),
    );
    expect(empty.notices).toEqual([]);
  });

  test("sysctls are written under /proc/sys after the root switch", () => {
    const s = spec((x) => {
      x.linux = { ...x.linux, sysctl: { "net.ipv4.ip_forward": "1" } };
    });
    const list = compilePlan(s, ctx()).steps;
    const at = list.findIndex(
      (st) => st.op.op === "writeFile" && (st.op as { path: string }).path === "/proc/sys/net/ipv4/ip_forward",
    );
    expect(at).toBeGreaterThan(list.findIndex((st) => st.op.op === "pivotRoot"));
  });
});

describe("state JSON with pid holes", () => {
  test("every pid -1 becomes a hole, quoted text cannot fake one", () => {
    const parts = withPidHoles({ pid: PID_HOLE, note: '"pid":-1', inner: { pid: PID_HOLE, other: 3 } });
    expect(parts).toHaveLength(3);
    expect(JSON.parse(parts.join("77"))).toEqual({ pid: 77, note: '"pid":-1', inner: { pid: 77, other: 3 } });
  });

  test("SCMP_ACT_NOTIFY: connect to the agent before the root switch, hand the listener over after the load", () => {
    const s = spec((x) => {
      x.linux = {
        ...x.linux,
        seccomp: {
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: "/run/agent.sock",
          syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
        },
      };
    });
    const list = ops(s);
    expect(list.indexOf("listenerConnect")).toBeLessThan(list.indexOf("pivotRoot"));
    expect(list.indexOf("sendListener")).toBe(list.indexOf("seccomp") + 1);
    const send = compilePlan(s, ctx()).steps.find((st) => st.op.op === "sendListener")?.op as { state: string[] };
    expect(JSON.parse(send.state.join("9"))).toMatchObject({ fds: ["seccompFd"], pid: 9, metadata: "", state: { pid: 9 } });
  });
});

/** compileExecPlan for the container `s` running as pid 42, with its own process. */
function execPlan(s: Spec, over: Partial<Parameters<typeof compileExecPlan>[2]> = {}) {
  return compileExecPlan(s, s.process as NonNullable<Spec["process"]>, {
    initPid: 42,
    id: "c1",
    bundle: "/b",
    detach: false,
    preserveFds: 0,
    host,
    compileSeccomp,
    ...over,
  });
}

describe("compileExecPlan", () => {
  test("joins the container's namespaces through the init's /proc entries, user first, mount last", () => {
    const s = spec((x) => {
      x.linux = { ...x.linux, namespaces: [{ type: "mount" }, { type: "pid" }, { type: "user" }, { type: "network" }] };
    });
    const steps = execPlan(s);
    const joins = steps.filter((st) => st.op.op === "setns").map((st) => (st.op as { path: string }).path);
    expect(joins).toEqual(["/proc/42/ns/user", "/proc/42/ns/net", "/proc/42/ns/pid", "/proc/42/ns/mnt"]);
    expect(steps.at(-1)?.op.op).toBe("exec");
  });

  test("supplementary groups are set where the container's user namespace allows it (runc: root there, setgroups not denied)", () => {
    const groupsOf = (over: Partial<Parameters<typeof compileExecPlan>[2]>) =>
      execPlan(spec(), over).filter((st) => st.op.op === "setgroups").length;
    // rootless podman: root of its user namespace, not of the host, with setgroups allowed
    expect(groupsOf({ host: { ...host, root: false }, setgroups: true })).toBe(1);
    expect(groupsOf({ host: { ...host, root: false }, setgroups: false })).toBe(0);
    expect(groupsOf({ host: { ...host, root: false } })).toBe(0);
    expect(groupsOf({})).toBe(1);
  });

  test("execCPUAffinity: initial in the helper before clone, final in the child after the cgroup join", () => {
    const s = spec((x) => {
      x.process!.execCPUAffinity = { initial: "0-1", final: "3,5" };
    });
    const steps = execPlan(s, { detach: true, cgroupJoin: { tasks: ["/sys/fs/cgroup/cpuset/husk/c1/tasks"], dir: "" } });
    const list = steps.map((st) => st.op.op);
    const pins = steps.filter((st) => st.op.op === "setAffinity").map((st) => (st.op as { cpus: number[] }).cpus);
    expect(pins).toEqual([
      [0, 1],
      [3, 5],
    ]);
    expect(list.indexOf("setAffinity")).toBeLessThan(list.indexOf("clone"));
    expect(list.lastIndexOf("setAffinity")).toBeGreaterThan(list.indexOf("joinCgroup"));
    // The init is never pinned by it.
    expect(ops(s)).not.toContain("setAffinity");
  });

  test("the cgroup namespace is joined by the child, after it joined the cgroup", () => {
    const s = spec((x) => {
      x.linux = { ...x.linux, namespaces: [{ type: "mount" }, { type: "cgroup" }, { type: "pid" }] };
    });
    const steps = execPlan(s, { detach: true, cgroupJoin: { tasks: [], dir: "/sys/fs/cgroup/husk/c1" } });
    const list = steps.map((st) => st.op.op);
    expect(list.slice(0, 7)).toEqual(["openCgroup", "setns", "openNs", "setns", "clone", "joinCgroup", "joinOpenedNs"]);
    expect(steps[2]?.op).toEqual({ op: "openNs", path: "/proc/42/ns/cgroup", nstype: 0x02000000 });
    expect(list).not.toContain("waitContinue");
  });
});
