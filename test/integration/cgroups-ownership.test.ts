/**
 * A container whose linux.cgroupsPath names a cgroup that already exists shares it with whatever
 * runs there. husk warns about the processes it finds (as runc does), and neither create's failure
 * cleanup nor delete (plain or --force) kills them or removes a cgroup husk did not make. A frozen
 * cgroup is refused before the container's first process joins it, instead of hanging there.
 *
 * Each test makes its "foreign" cgroup in every hierarchy husk uses, with a host `sleep` in it,
 * and removes both in a `finally`.
 */
import { afterEach, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/oci/types.ts";
import { hierarchies, layout } from "../fixtures/cgroups.ts";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
});

let counter = 0;

/** A cgroup made by "someone else" in every hierarchy; removed (after its processes) at the end. */
function foreignCgroup(): { path: string; dirs: string[] } {
  const path = `/husk-foreign-${process.pid}-${++counter}`;
  const dirs = hierarchies().map((h) => join(h, path));
  for (const d of dirs) {
    mkdirSync(d);
    // A new v1 cpuset takes no tasks until it has cpus and mems.
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      if (existsSync(join(d, f)) && readFileSync(join(d, f), "utf8").trim() === "") {
        writeFileSync(join(d, f), readFileSync(join(d, "..", f), "utf8").trim());
      }
    }
  }
  cleanups.push(() => {
    thaw(path);
    for (const d of dirs) removeTree(d);
  });
  return { path, dirs };
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if (i > 100) throw err;
      Bun.sleepSync(10);
    }
  }
}

/** A host `sleep` placed in `dirs` (every hierarchy), killed at the end. */
function foreignSleep(dirs: string[]): number {
  const proc = Bun.spawn(["sleep", "600"], { stdio: ["ignore", "ignore", "ignore"] });
  cleanups.push(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
  for (const d of dirs) writeFileSync(join(d, "cgroup.procs"), String(proc.pid));
  return proc.pid;
}

function freezerFile(path: string): { file: string; frozen: string; thawed: string } | undefined {
  const v1 = layout?.v1.get("freezer");
  if (v1) return { file: join(v1, path, "freezer.state"), frozen: "FROZEN", thawed: "THAWED" };
  if (layout?.v2Root) return { file: join(layout.v2Root, path, "cgroup.freeze"), frozen: "1", thawed: "0" };
  return undefined;
}

function freeze(path: string): void {
  const f = freezerFile(path);
  if (f) writeFileSync(f.file, f.frozen);
}

function thaw(path: string): void {
  const f = freezerFile(path);
  if (f && existsSync(f.file)) writeFileSync(f.file, f.thawed);
}

/** Alive, not merely a zombie (the sleep is our child: killed, it stays a zombie until reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !["Z", "X"].includes(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return false;
  }
}

function procsOf(dir: string): number[] {
  return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
}

function bundleIn(cgroupsPath: string, args: string[], edit?: (s: Spec) => void) {
  const b = makeBundle(args, (s) => {
    s.linux = { ...s.linux, cgroupsPath };
    edit?.(s);
  });
  cleanups.push(() => b.remove());
  return b;
}

/**
 * `husk create`, its stderr collected from a file: the container keeps create's stdio, so a
 * pipe would not close until the container exits.
 */
async function create(bundleDir: string, id: string, timeoutMs = 30000): Promise<{ code: number; stderr: string }> {
  cleanups.push(async () => {
    await husk(["delete", "--force", id]);
  });
  const errFile = join(tmpdir(), `husk-ownership-${process.pid}-${id}.err`);
  const fd = openSync(errFile, "w");
  cleanups.push(() => rmSync(errFile, { force: true }));
  try {
    const proc = Bun.spawn([HUSK, "--root", TEST_ROOT, "create", "--bundle", bundleDir, id], {
      stdio: ["ignore", "ignore", fd],
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    return { code, stderr: readFileSync(errFile, "utf8") };
  } finally {
    closeSync(fd);
  }
}

const status = async (id: string) => (JSON.parse((await husk(["state", id])).stdout) as { status: string }).status;

async function waitStopped(id: string): Promise<void> {
  for (let i = 0; i < 500 && (await status(id)) !== "stopped"; i++) await Bun.sleep(10);
  expect(await status(id)).toBe("stopped");
}

describeAsRoot("cgroup ownership", () => {
  test("create warns about processes already in the cgroup; delete leaves them and the cgroup", async () => {
    const victim = foreignCgroup();
    const sleep = foreignSleep(victim.dirs);
    const b = bundleIn(victim.path, ["true"]);
    const id = nextId();
    const r = await create(b.dir, id);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("husk: warning: container's cgroup is not empty: 1 process(es) found");
    expect((await husk(["start", id])).code).toBe(0);
    await waitStopped(id);
    const del = await husk(["delete", id]);
    expect(del.stderr).toBe("");
    expect(del.code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(alive(sleep)).toBe(true);
    for (const d of victim.dirs) {
      expect(existsSync(d)).toBe(true);
      expect(procsOf(d)).toEqual([sleep]);
    }
  });

  test("delete --force of a running container in a shared cgroup kills the container, not the others", async () => {
    const victim = foreignCgroup();
    const sleep = foreignSleep(victim.dirs);
    const b = bundleIn(victim.path, ["sleep", "600"]);
    const id = nextId();
    expect((await create(b.dir, id)).code).toBe(0);
    expect((await husk(["start", id])).code).toBe(0);
    const init = (JSON.parse((await husk(["state", id])).stdout) as { pid: number }).pid;
    expect(alive(init)).toBe(true);
    const del = await husk(["delete", "--force", id]);
    expect(del.stderr).toBe("");
    expect(del.code).toBe(0);
    expect(alive(init)).toBe(false);
    expect(alive(sleep)).toBe(true);
    for (const d of victim.dirs) {
      expect(existsSync(d)).toBe(true);
      expect(procsOf(d)).toEqual([sleep]);
    }
  });

  test("a create that fails keeps the processes and the cgroup it found", async () => {
    const victim = foreignCgroup();
    const sleep = foreignSleep(victim.dirs);
    const b = bundleIn(victim.path, ["true"], (s) => {
      s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "exit 3"] }] };
    });
    const id = nextId();
    const r = await create(b.dir, id);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("exit status 3");
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(alive(sleep)).toBe(true);
    for (const d of victim.dirs) {
      expect(existsSync(d)).toBe(true);
      expect(procsOf(d)).toEqual([sleep]);
    }
  });

  test("a cgroup husk makes below someone else's is removed on delete; the parent stays", async () => {
    const victim = foreignCgroup();
    const sleep = foreignSleep(victim.dirs);
    const b = bundleIn(`${victim.path}/ctr`, ["true"]);
    const id = nextId();
    const r = await create(b.dir, id);
    expect(r.code).toBe(0);
    // The container's own cgroup is new and empty: nothing to warn about.
    expect(r.stderr).toBe("");
    for (const d of victim.dirs) expect(existsSync(join(d, "ctr"))).toBe(true);
    expect((await husk(["delete", "--force", id])).code).toBe(0);
    expect(alive(sleep)).toBe(true);
    for (const d of victim.dirs) {
      expect(existsSync(join(d, "ctr"))).toBe(false);
      expect(procsOf(d)).toEqual([sleep]);
    }
  });

  test("a frozen cgroup is refused before anything joins it, and nothing is left behind", async () => {
    const victim = foreignCgroup();
    const sleep = foreignSleep(victim.dirs);
    freeze(victim.path);
    for (const path of [victim.path, `${victim.path}/ctr`]) {
      const b = bundleIn(path, ["true"]);
      const id = nextId();
      const started = Date.now();
      const r = await create(b.dir, id, 20000);
      expect(r.stderr).toContain("container's cgroup unexpectedly frozen");
      expect(r.code).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(10000);
      expect(existsSync(join(TEST_ROOT, id))).toBe(false);
      for (const d of victim.dirs) {
        expect(existsSync(join(d, "ctr"))).toBe(false);
        expect(procsOf(d)).toEqual([sleep]);
      }
    }
    thaw(victim.path);
    expect(alive(sleep)).toBe(true);
  });

  // The record is husk's own file under a root-owned --root, but it names what delete removes:
  // only directories strictly inside a cgroup filesystem, named without `..`, are taken.
  for (const force of [true, false]) {
    test(`delete${force ? " --force" : ""} removes no directory the cgroup record names outside the cgroup filesystems`, async () => {
      const outside = mkdtempSync(join(tmpdir(), "husk-not-a-cgroup-"));
      cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
      const h = hierarchies()[0] as string;
      const sibling = foreignCgroup(); // a cgroup husk did not make, reached through `..`
      const strays = [
        join(outside, "plain"),
        `${h}/${"../".repeat(h.split("/").length - 1)}${outside.slice(1)}/climbed`,
        `${h}${sibling.path}/..${sibling.path}`,
        `${join(outside, "trailing")}/`,
      ];
      for (const d of ["plain", "climbed", "trailing"]) mkdirSync(join(outside, d));
      const b = bundleIn(`/husk-record-${process.pid}-${force ? 1 : 2}`, force ? ["sleep", "600"] : ["true"]);
      const id = nextId();
      expect((await create(b.dir, id)).code).toBe(0);
      const file = join(TEST_ROOT, id, "cgroup.json");
      const record = JSON.parse(readFileSync(file, "utf8")) as { paths: Record<string, string>; created: string[] };
      const own = [...new Set(Object.values(record.paths))];
      strays.forEach((d, i) => {
        record.paths[`stray${i}`] = d;
      });
      record.created.push(...strays);
      writeFileSync(file, JSON.stringify(record));
      if (!force) {
        expect((await husk(["start", id])).code).toBe(0);
        await waitStopped(id);
      }
      const del = await husk(force ? ["delete", "--force", id] : ["delete", id]);
      expect(del.stderr).toBe("");
      expect(del.code).toBe(0);
      expect(existsSync(join(TEST_ROOT, id))).toBe(false);
      for (const d of own) expect(existsSync(d)).toBe(false);
      for (const d of ["plain", "climbed", "trailing"]) expect(existsSync(join(outside, d))).toBe(true);
      expect(existsSync(join(h, sibling.path))).toBe(true);
    });
  }
});
