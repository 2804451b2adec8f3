// Which cgroup directories are husk's: the Cgroup class's record of what create() made, what is
// shared with processes that were there before, and whether a frozen cgroup would stop a process
// joining it. Against a small fake cgroupfs in a temp dir (a directory with processes or children
// cannot be removed); no root needed.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Cgroup,
  type CgroupFs,
  type CgroupLayout,
  detectCgroupLayout,
  nodeCgroupFs,
  openCgroup,
} from "../../src/cgroups/index.ts";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "husk-ownership-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Directories get cgroup.procs (and freezer/cgroup2 files); rmdir refuses busy ones. */
const fakeFs: CgroupFs = {
  ...nodeCgroupFs,
  mkdir(p) {
    if (!nodeCgroupFs.mkdir(p)) return false;
    fs.writeFileSync(`${p}/cgroup.procs`, "");
    if (p.includes("/freezer/")) fs.writeFileSync(`${p}/freezer.state`, "THAWED\n");
    if (p.includes("/unified/")) {
      fs.writeFileSync(`${p}/cgroup.freeze`, "0\n");
      fs.writeFileSync(`${p}/cgroup.events`, "populated 0\nfrozen 0\n");
    }
    return true;
  },
  rmdir(p) {
    if (!fs.existsSync(p)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    const busy = nodeCgroupFs.subdirs(p).length > 0 || fs.readFileSync(`${p}/cgroup.procs`, "utf8").trim() !== "";
    if (busy) throw Object.assign(new Error("EBUSY"), { code: "EBUSY" });
    fs.rmSync(p, { recursive: true });
  },
};

/** A hybrid machine: memory and freezer in v1, a cgroup2 tree at unified. */
function machine(): CgroupLayout {
  const lines: string[] = [];
  for (const [i, name] of ["memory", "freezer"].entries()) {
    fs.mkdirSync(`${tmp}/${name}`);
    fs.writeFileSync(`${tmp}/${name}/cgroup.procs`, "");
    lines.push(`${40 + i} 31 0:${40 + i} / ${tmp}/${name} rw - cgroup cgroup rw,${name}`);
  }
  fs.mkdirSync(`${tmp}/unified`);
  for (const f of ["cgroup.procs", "cgroup.controllers", "cgroup.subtree_control"]) fs.writeFileSync(`${tmp}/unified/${f}`, "");
  lines.push(`50 31 0:50 / ${tmp}/unified rw - cgroup2 cgroup2 rw`);
  return detectCgroupLayout(`${lines.join("\n")}\n`);
}

const hierarchies = ["memory", "freezer", "unified"];

/** Someone else's cgroup `inner` in every hierarchy, with process `pid` in it. */
function foreign(inner: string, pid?: number): void {
  for (const h of hierarchies) {
    fakeFs.mkdir(`${tmp}/${h}${inner}`);
    if (pid) fs.writeFileSync(`${tmp}/${h}${inner}/cgroup.procs`, `${pid}\n`);
  }
}

describe("Cgroup ownership", () => {
  test("create records what it made, parents first; a new cgroup is the container's own", () => {
    const layout = machine();
    const cg = openCgroup(layout, "/a/b", { fs: fakeFs });
    expect(cg.missing()).toEqual(hierarchies.flatMap((h) => [`${tmp}/${h}/a`, `${tmp}/${h}/a/b`]));
    cg.create();
    expect(cg.created).toEqual(hierarchies.flatMap((h) => [`${tmp}/${h}/a`, `${tmp}/${h}/a/b`]));
    expect(cg.missing()).toEqual([]);
    expect(cg.isOwn()).toBe(true);
    expect(cg.sharedPids()).toEqual([]);
  });

  test("an existing cgroup is shared: its processes are counted, and destroy leaves it", async () => {
    const layout = machine();
    foreign("/victim", 4242);
    const cg = openCgroup(layout, "/victim", { fs: fakeFs });
    expect(cg.missing()).toEqual([]);
    cg.create();
    expect(cg.created).toEqual([]);
    expect(cg.isOwn()).toBe(false);
    expect(cg.sharedPids()).toEqual([4242]);
    await cg.destroy();
    for (const h of hierarchies) expect(fs.readFileSync(`${tmp}/${h}/victim/cgroup.procs`, "utf8")).toBe("4242\n");
  });

  test("a process in one hierarchy only is found; a cgroup existing in one hierarchy only is shared", async () => {
    const layout = machine();
    fakeFs.mkdir(`${tmp}/memory/victim`);
    fakeFs.mkdir(`${tmp}/memory/victim/sub`);
    fs.writeFileSync(`${tmp}/memory/victim/sub/cgroup.procs`, "77\n");
    const cg = openCgroup(layout, "/victim", { fs: fakeFs });
    cg.create();
    expect(cg.created).toEqual([`${tmp}/freezer/victim`, `${tmp}/unified/victim`]);
    expect(cg.isOwn()).toBe(false);
    expect(cg.sharedPids()).toEqual([77]);
    await cg.destroy();
    expect(fs.existsSync(`${tmp}/memory/victim/sub`)).toBe(true);
    expect(fs.existsSync(`${tmp}/freezer/victim`)).toBe(false);
    expect(fs.existsSync(`${tmp}/unified/victim`)).toBe(false);
  });

  test("reopened with its record, a cgroup removes only what the record names", async () => {
    const layout = machine();
    foreign("/p");
    const cg = openCgroup(layout, "/p/c", { fs: fakeFs });
    cg.create();
    const again = Cgroup.fromPaths(layout, { ...cg.paths }, { fs: fakeFs, created: cg.created });
    expect(again.isOwn()).toBe(true);
    await again.destroy();
    for (const h of hierarchies) {
      expect(fs.existsSync(`${tmp}/${h}/p/c`)).toBe(false);
      expect(fs.existsSync(`${tmp}/${h}/p`)).toBe(true);
    }
    const nothing = Cgroup.fromPaths(layout, { memory: `${tmp}/memory/p` }, { fs: fakeFs, created: [] });
    expect(nothing.isOwn()).toBe(false);
    await nothing.destroy();
    expect(fs.existsSync(`${tmp}/memory/p`)).toBe(true);
  });

  test("a frozen cgroup, or one below a frozen parent, would stop a process joining it", () => {
    const layout = machine();
    foreign("/victim");
    const cg = openCgroup(layout, "/victim", { fs: fakeFs });
    expect(cg.frozenForNewcomers()).toBeUndefined();
    fs.writeFileSync(`${tmp}/freezer/victim/freezer.state`, "FREEZING\n");
    expect(cg.frozenForNewcomers()).toBe(`${tmp}/freezer/victim`);
    fs.writeFileSync(`${tmp}/freezer/victim/freezer.state`, "THAWED\n");
    // cgroup2: a child of a frozen cgroup has cgroup.freeze 0 but reports frozen in cgroup.events.
    fs.writeFileSync(`${tmp}/unified/victim/cgroup.events`, "populated 0\nfrozen 1\n");
    expect(cg.frozenForNewcomers()).toBe(`${tmp}/unified/victim`);
  });
});
