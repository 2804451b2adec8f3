/**
 * A fresh cgroup (the engine's: a new random id, so nothing of that name exists) made by the
 * helper's parent, not on husk's thread (planFreshCgroup, the plan's cgroupMkdirs and
 * cgroupWrite ops): the container is in it in every hierarchy with its device rules, cpuset and
 * limits in place; a refused write names its file, field and value, and leaves no directory; a
 * setting only the made cgroup can tell goes the ordinary way; a frozen
 * parent is refused before anything is made; a missing parent sends it back to the ordinary way;
 * on cgroup2 (mounted over /sys/fs/cgroup in a mount namespace of the test's own, as
 * devices-v2.test.ts does) the helper makes it and attaches the device filter.
 *
 * Each test makes its own parent cgroup in every hierarchy (with a cpuset, cpus and mems) and
 * removes it in a `finally`.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LinuxResources } from "../../src/cgroups/resources.ts";
import { launch } from "../../src/helper/driver.ts";
import { Runtime } from "../../src/runtime/runtime.ts";
import { hierarchies, layout } from "../fixtures/cgroups.ts";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

const v1Devices = layout?.v1.get("devices");
/** The runtime's debug line for a cgroup its helper made (the fresh way). */
const HELPER_MADE = "cgroup: made by the helper's parent (a fresh cgroup)";

/** A parent cgroup in every hierarchy, as husk's /husk would be (the container's is c1 below it). */
async function withParent(fn: (p: { path: string; dir: (h: string) => string }) => Promise<void>): Promise<void> {
  const path = `/husk-fresh-${process.pid}-${nextId()}`;
  const dirs = hierarchies().map((h) => join(h, path));
  try {
    for (const d of dirs) {
      mkdirSync(d);
      for (const f of ["cpuset.cpus", "cpuset.mems"])
        if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, "..", f), "utf8").trim());
    }
    await fn({ path, dir: (h) => join(h, path) });
  } finally {
    for (const d of dirs) {
      if (existsSync(join(d, "freezer.state"))) writeFileSync(join(d, "freezer.state"), "THAWED");
      for (const e of existsSync(d) ? ["c1"] : []) if (existsSync(join(d, e))) rmdirSync(join(d, e));
      if (existsSync(d)) rmdirSync(d);
    }
  }
}

/** Runtime.run with the engine's freshCgroup, the container's cgroup `${parent}/c1`. */
async function runFresh(
  parent: string,
  args: string[],
  resources: LinuxResources = {},
): Promise<{ status: number; out: string; root: string; id: string; byHelper: boolean }> {
  const root = mkdtempSync(join(tmpdir(), "husk-fresh-root-"));
  const out = join(root, "out");
  mkdirSync(out);
  const bundle = makeBundle(["sh", "-c", `{ ${args.join(" ")}; } > /out/stdout`], (spec) => {
    spec.linux!.cgroupsPath = `${parent}/c1`;
    spec.linux!.resources = { ...spec.linux!.resources, ...resources };
    spec.mounts!.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
  });
  const id = nextId();
  try {
    const debug: string[] = [];
    const rt = new Runtime({ root, debug: true, onDebug: (m) => debug.push(m) });
    const status = await rt.run(id, bundle.dir, {
      stdio: ["ignore", "inherit", "inherit"],
      freshCgroup: true,
    });
    const byHelper = debug.includes(HELPER_MADE);
    return { status, out: existsSync(`${out}/stdout`) ? readFileSync(`${out}/stdout`, "utf8") : "", root, id, byHelper };
  } finally {
    bundle.remove();
  }
}

describeAsRoot("fresh cgroups made by the helper", () => {
  test.skipIf(!v1Devices)(
    "the container is in its cgroup in every hierarchy, with the device rules and cpuset, and the cgroup goes with it",
    async () => {
      await withParent(async ({ path, dir }) => {
        const r = await runFresh(path, [
          "cat /proc/self/cgroup /sys/fs/cgroup/devices/devices.list; cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null",
        ]);
        try {
          expect(r.status).toBe(0);
          expect(r.byHelper).toBe(true);
          const lines = r.out.split("\n");
          // Every hierarchy's line names the container's cgroup (seen from inside as the path itself: no cgroup namespace).
          for (const l of lines.filter((x) => /^\d+:/.test(x))) expect(l.endsWith(`:${path}/c1`)).toBe(true);
          // The default rules, not the parent's "a *:* rwm".
          expect(lines).toContain("c 1:3 rwm");
          expect(lines).not.toContain("a *:* rwm");
          if (layout?.v1.has("cpuset"))
            expect(lines.at(-2)).toBe(readFileSync(join(dir(layout.v1.get("cpuset")!), "cpuset.cpus"), "utf8").trim());
          for (const h of hierarchies()) expect(existsSync(join(dir(h), "c1"))).toBe(false);
          expect(existsSync(join(r.root, r.id))).toBe(false);
        } finally {
          rmSync(r.root, { recursive: true, force: true });
        }
      });
    },
  );

  test.skipIf(!v1Devices)(
    "a device rule the kernel refuses names its file, field and value, and leaves no directory",
    async () => {
      await withParent(async ({ path, dir }) => {
        // The parent may not hand /dev/null (c 1:3) down: the container's first rule that covers
        // it (mknod of any char device) is refused.
        writeFileSync(join(dir(v1Devices!), "devices.deny"), "c 1:3 rwm");
        const root = mkdtempSync(join(tmpdir(), "husk-fresh-root-"));
        const bundle = makeBundle(["true"], (spec) => {
          spec.linux!.cgroupsPath = `${path}/c1`;
        });
        try {
          const run = new Runtime({ root }).run("refused", bundle.dir, {
            stdio: ["ignore", "ignore", "ignore"],
            freshCgroup: true,
          });
          await expect(run).rejects.toThrow(
            `write ${join(dir(v1Devices!), "c1")}/devices.allow: "c *:* m" (linux.resources.devices)`,
          );
          await expect(run).rejects.toMatchObject({ origin: "linux.resources.devices", errno: "EPERM" });
          for (const h of hierarchies()) expect(existsSync(join(dir(h), "c1"))).toBe(false);
          expect(existsSync(join(root, "refused"))).toBe(false);
        } finally {
          bundle.remove();
          rmSync(root, { recursive: true, force: true });
        }
      });
    },
  );

  const limited = ["memory", "cpu", "pids"].every((c) => layout?.v1.has(c));
  test.skipIf(!v1Devices || !limited)(
    "limits (memory, a cpu quota and period, pids) are written by the helper too, and the container runs under them",
    async () => {
      await withParent(async ({ path, dir }) => {
        const r = await runFresh(
          path,
          [
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/pids/pids.max",
          ],
          { memory: { limit: 64 << 20 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 50 } },
        );
        try {
          expect(r.status).toBe(0);
          expect(r.byHelper).toBe(true);
          expect(r.out.trim().split("\n")).toEqual([String(64 << 20), "50000", "100000", "50"]);
          for (const h of hierarchies()) expect(existsSync(join(dir(h), "c1"))).toBe(false);
        } finally {
          rmSync(r.root, { recursive: true, force: true });
        }
      });
    },
  );

  test.skipIf(!v1Devices || !layout?.v1.has("cpuset"))(
    "a limit the kernel refuses names its file, field and value, and leaves no directory",
    async () => {
      await withParent(async ({ path, dir }) => {
        const root = mkdtempSync(join(tmpdir(), "husk-fresh-root-"));
        const bundle = makeBundle(["true"], (spec) => {
          spec.linux!.cgroupsPath = `${path}/c1`;
          // A CPU this machine does not have: only the kernel can refuse it.
          spec.linux!.resources = { ...spec.linux!.resources, cpu: { cpus: "999" } };
        });
        try {
          const run = new Runtime({ root }).run("refused", bundle.dir, {
            stdio: ["ignore", "ignore", "ignore"],
            freshCgroup: true,
          });
          const cpuset = join(dir(layout!.v1.get("cpuset")!), "c1");
          await expect(run).rejects.toThrow(`write ${cpuset}/cpuset.cpus: "999" (linux.resources.cpu.cpus)`);
          const err = await run.catch((e) => e);
          expect(err.origin).toBe("linux.resources.cpu.cpus");
          // This kernel says ERANGE for a CPU past its last; older ones said EINVAL.
          expect(["ERANGE", "EINVAL"]).toContain(err.errno);
          for (const h of hierarchies()) expect(existsSync(join(dir(h), "c1"))).toBe(false);
          expect(existsSync(join(root, "refused"))).toBe(false);
        } finally {
          bundle.remove();
          rmSync(root, { recursive: true, force: true });
        }
      });
    },
  );

  test.skipIf(!v1Devices || !layout?.v1.has("cpu"))(
    "a setting only the made cgroup tells (cpu.shares, read back for the kernel's clamping) goes the ordinary way",
    async () => {
      await withParent(async ({ path }) => {
        const r = await runFresh(path, ["cat /sys/fs/cgroup/cpu/cpu.shares"], { cpu: { shares: 512 } });
        try {
          expect(r.status).toBe(0);
          expect(r.byHelper).toBe(false);
          expect(r.out.trim()).toBe("512");
        } finally {
          rmSync(r.root, { recursive: true, force: true });
        }
      });
    },
  );

  test.skipIf(!layout?.v1.has("freezer"))("a frozen parent is refused before anything is made", async () => {
    await withParent(async ({ path, dir }) => {
      writeFileSync(join(dir(layout!.v1.get("freezer")!), "freezer.state"), "FROZEN");
      const root = mkdtempSync(join(tmpdir(), "husk-fresh-root-"));
      const bundle = makeBundle(["true"], (spec) => {
        spec.linux!.cgroupsPath = `${path}/c1`;
      });
      try {
        const run = new Runtime({ root }).run("frozen", bundle.dir, { stdio: ["ignore", "ignore", "ignore"], freshCgroup: true });
        await expect(run).rejects.toThrow("container's cgroup unexpectedly frozen");
        // The helper's look, before any mkdir: the frozen parent named.
        await expect(run).rejects.toThrow(`join cgroup ${dir(layout!.v1.get("freezer")!)}`);
        for (const h of hierarchies()) expect(existsSync(join(dir(h), "c1"))).toBe(false);
        expect(existsSync(join(root, "frozen"))).toBe(false);
      } finally {
        bundle.remove();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  test("a parent missing in a hierarchy: made the ordinary way, parents included, and all of it removed", async () => {
    const path = `/husk-fresh-${process.pid}-${nextId()}`;
    const r = await runFresh(path, ["cat /proc/self/cgroup"]);
    try {
      expect(r.status).toBe(0);
      expect(r.byHelper).toBe(false); // made here, parents included
      expect(r.out).toContain(`${path}/c1`);
      for (const h of hierarchies()) expect(existsSync(join(h, path))).toBe(false);
    } finally {
      rmSync(r.root, { recursive: true, force: true });
      for (const h of hierarchies()) for (const d of [join(h, path, "c1"), join(h, path)]) if (existsSync(d)) rmdirSync(d);
    }
  });
  test("on cgroup2 (mounted over /sys/fs/cgroup in a namespace of its own) the helper makes it and attaches the device filter", async () => {
    const parent = `/husk-fresh-${process.pid}-${nextId()}`;
    const root = mkdtempSync(join(tmpdir(), "husk-fresh-root-"));
    const out = join(root, "out");
    mkdirSync(out);
    // /dev/kmsg may be opened for writing by anyone: only the device filter stands in the way.
    const bundle = makeBundle(
      ["sh", "-c", "{ (: > /dev/kmsg); echo kmsg=$?; (: > /dev/null); echo null=$?; } > /out/stdout 2>&1"],
      (spec) => {
        spec.linux = {
          ...spec.linux,
          cgroupsPath: `${parent}/c1`,
          devices: [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o666 }],
          resources: { devices: [{ allow: false, access: "rwm" }] },
          namespaces: (spec.linux?.namespaces ?? []).filter((n) => n.type !== "cgroup"),
        };
        spec.mounts!.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
      },
    );
    const script = [
      "mount -t cgroup2 none /sys/fs/cgroup || exit 90",
      `mkdir /sys/fs/cgroup${parent} || exit 91`,
      `${process.execPath} ${join(import.meta.dir, "../fixtures/fresh-run.ts")} "$R" "$B" fresh-v2`,
      `rmdir /sys/fs/cgroup${parent}/c1 2>/dev/null; rmdir /sys/fs/cgroup${parent}`,
    ].join("\n");
    try {
      const proc = Bun.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script], {
        env: { ...process.env, R: root, B: bundle.dir },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      expect(await proc.exited, stderr).toBe(0);
      const r = JSON.parse(stdout.trim().split("\n").at(-1) as string);
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      expect(r.debug).toContain(HELPER_MADE);
      const seen = readFileSync(join(out, "stdout"), "utf8");
      expect(seen).toContain("kmsg=1");
      expect(seen).toContain("Operation not permitted");
      expect(seen).toContain("null=0");
      // The same cgroup2 hierarchy is mounted at /sys/fs/cgroup/unified out here: nothing is left.
      if (layout?.v2Root) expect(existsSync(join(layout.v2Root, parent))).toBe(false);
    } finally {
      bundle.remove();
      rmSync(root, { recursive: true, force: true });
    }
  });
  test.skipIf(!layout?.v1.has("cpuset"))(
    "a default parent another helper has just made, its cpuset not filled in yet, is filled in before the leaf takes its cpus",
    async () => {
      // Four containers at once after the last one's delete removed husk's parent: each helper
      // finds it gone, one makes it (EEXIST for the others), and a leaf made below it before its
      // maker has copied cpus and mems down got none: joining it was ENOSPC.
      const cpuset = layout!.v1.get("cpuset")!;
      const parent = join(cpuset, `husk-fresh-${process.pid}-${nextId()}`);
      const leaf = join(parent, "c1");
      mkdirSync(parent); // made, not filled in: its cpus and mems are empty
      try {
        expect(readFileSync(join(parent, "cpuset.cpus"), "utf8").trim()).toBe("");
        await launch(
          [
            {
              what: "make the container's cgroup",
              parts: [`mkdir ${leaf}`],
              op: { op: "cgroupMkdirs", dirs: [leaf], parents: true, frozen: [], delegate: [], cpuset: leaf },
            },
          ],
          { preserveFds: 0 },
        );
        for (const f of ["cpuset.cpus", "cpuset.mems"]) {
          const want = readFileSync(join(cpuset, f), "utf8").trim();
          expect(readFileSync(join(parent, f), "utf8").trim()).toBe(want);
          expect(readFileSync(join(leaf, f), "utf8").trim()).toBe(want);
        }
      } finally {
        for (const d of [leaf, parent]) if (existsSync(d)) rmdirSync(d);
      }
    },
  );

  test("husk's default parent, removed by another process after husk looked, is made again by the helper as the runtime makes it", async () => {
    const parent = `/husk-fresh-${process.pid}-${nextId()}`;
    const leaves = hierarchies().map((h) => join(h, parent, "c1"));
    const make = (parents: boolean) =>
      launch(
        [
          {
            what: "make the container's cgroup",
            parts: leaves.map((d) => `mkdir ${d}`),
            op: { op: "cgroupMkdirs", dirs: leaves, parents, frozen: [], delegate: [], cpuset: "" },
          },
        ],
        {
          preserveFds: 0,
        },
      );
    try {
      // Without leave to make parents: the first leaf's mkdir is refused, and named.
      await expect(make(false)).rejects.toThrow(`make the container's cgroup: mkdir ${leaves[0]}`);
      for (const d of leaves) expect(existsSync(d)).toBe(false);
      await make(true);
      for (const d of leaves) expect(existsSync(d)).toBe(true);
      const cpuset = layout?.v1.get("cpuset");
      if (cpuset) {
        const read = (d: string, f: string) => readFileSync(join(d, f), "utf8").trim();
        expect(read(join(cpuset, parent), "cpuset.cpus")).toBe(read(cpuset, "cpuset.cpus"));
        expect(read(join(cpuset, parent), "cpuset.mems")).toBe(read(cpuset, "cpuset.mems"));
        expect(read(join(cpuset, parent), "cgroup.clone_children")).toBe("1");
        // So the leaf, made after it, has them too: it can take the container's process.
        expect(read(join(cpuset, parent, "c1"), "cpuset.cpus")).toBe(read(cpuset, "cpuset.cpus"));
      }
      if (layout?.v2Root) {
        const controllers = readFileSync(join(layout.v2Root, parent, "cgroup.controllers"), "utf8").trim();
        expect(readFileSync(join(layout.v2Root, parent, "cgroup.subtree_control"), "utf8").trim()).toBe(controllers);
      }
    } finally {
      for (const d of leaves) for (const x of [d, join(d, "..")]) if (existsSync(x)) rmdirSync(x);
    }
  });
});
