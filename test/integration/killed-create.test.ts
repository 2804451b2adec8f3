/**
 * A `create` killed at any point, or a state file damaged afterwards, leaves nothing that
 * `delete --force` cannot remove (DESIGN.md, "State and safety"): no cgroup directory in any
 * hierarchy, no state directory. With a custom cgroupsPath, so that nothing can be found by
 * guessing husk's default place.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hierarchies } from "../fixtures/cgroups.ts";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, TEST_ROOT } from "../fixtures/husk.ts";
import { prng as seeded } from "../fixtures/prng.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Directories named `path` (a cgroupsPath) that exist in any hierarchy. */
function cgroupDirs(path: string): string[] {
  return hierarchies()
    .map((h) => join(h, path))
    .filter((d) => existsSync(d));
}

/** Last resort for a failed test: kill what runs in the cgroups it made, and remove them, deepest first. */
function removeCgroups(path: string): void {
  const remove = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(join(dir, e.name));
    for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    }
    for (let i = 0; i < 50 && readFileSync(join(dir, "cgroup.procs"), "utf8").trim() !== ""; i++) Bun.sleepSync(10);
    try {
      rmdirSync(dir);
    } catch {}
  };
  for (const h of hierarchies()) remove(join(h, path));
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !["Z", "X"].includes(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return false;
  }
}

/**
 * `husk <verb>` of a container in cgroup `${parent}/<id>`, SIGKILLed after delay() ms, then
 * `delete --force`: what is wrong afterwards (a refused delete, a cgroup dir or the state dir
 * left, a process of the cgroup alive), or nothing. `b` is rewritten with the cgroup's path.
 */
async function killThenDelete(
  verb: "create" | "run",
  b: ReturnType<typeof makeBundle>,
  parent: string,
  delay: number,
): Promise<string | undefined> {
  const id = nextId();
  const path = `${parent}/${id}`;
  b.spec.linux = { ...b.spec.linux, cgroupsPath: path };
  b.write();
  cleanups.push(async () => {
    await husk(["delete", "--force", id]);
  });
  const proc = Bun.spawn([HUSK, "--root", TEST_ROOT, verb, "--bundle", b.dir, id], { stdio: ["ignore", "ignore", "ignore"] });
  await Bun.sleep(delay);
  proc.kill("SIGKILL");
  await proc.exited;
  // What the cgroup held before the delete: none of it may outlive it.
  const pids = cgroupDirs(path).flatMap((d) =>
    existsSync(join(d, "cgroup.procs")) ? readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean) : [],
  );
  const del = await husk(["delete", "--force", id]);
  const left = [...cgroupDirs(path), ...(existsSync(join(TEST_ROOT, id)) ? [join(TEST_ROOT, id)] : [])];
  const living = pids.map(Number).filter((p) => alive(p));
  removeCgroups(path);
  if (del.code === 0 && left.length === 0 && living.length === 0) return undefined;
  return `kill after ${delay.toFixed(1)} ms: delete --force ${del.code} ${del.stderr.trim()}; left ${left.join(" ")}; alive ${living.join(" ")}`;
}

describeAsRoot("killed create", () => {
  test("create SIGKILLed at any point: delete --force removes every cgroup dir and the state dir", async () => {
    const parent = `/husk-killed-${process.pid}`;
    // Many device rules make writing the resources take a while: a kill is more likely to land
    // between making the cgroup and recording it, the window this test is about.
    const b = makeBundle(["true"], (s) => {
      s.linux = {
        ...s.linux,
        resources: {
          devices: Array.from({ length: 1000 }, (_, i) => ({ allow: false, type: "c", major: 240, minor: i, access: "rwm" })),
        },
      };
    });
    cleanups.push(() => b.remove());
    cleanups.push(() => removeCgroups(parent));
    const writeSpec = (cgroupsPath: string) => {
      b.spec.linux = { ...b.spec.linux, cgroupsPath };
      b.write();
    };
    // How long an undisturbed create takes here: the kills are spread over that time.
    const probe = nextId();
    writeSpec(`${parent}/${probe}`);
    cleanups.push(async () => {
      await husk(["delete", "--force", probe]);
    });
    const t0 = performance.now();
    await createContainer(b.dir, probe);
    const createMs = performance.now() - t0;
    expect((await husk(["delete", "--force", probe])).code).toBe(0);

    const random = seeded(20240611);
    const failures: string[] = [];
    for (let cycle = 0; cycle < 30; cycle++) {
      const failure = await killThenDelete("create", b, parent, random() * createMs * 1.2);
      if (failure) failures.push(`cycle ${cycle} (${failure})`);
    }
    expect(failures).toEqual([]);
    // husk made the parent for the first container and removes it with the last.
    expect(cgroupDirs(parent)).toEqual([]);
  });

  test("run SIGKILLed at any point: delete --force kills what runs and removes every cgroup dir and the state dir", async () => {
    // A run without hooks writes state.json only once its container runs (with the pid): killed
    // before that, delete --force finds the container by its cgroup record alone.
    const parent = `/husk-killed-run-${process.pid}`;
    const b = makeBundle(["sleep", "600"]);
    cleanups.push(() => b.remove());
    cleanups.push(() => removeCgroups(parent));
    const random = seeded(20261207);
    const failures: string[] = [];
    for (let cycle = 0; cycle < 20; cycle++) {
      const failure = await killThenDelete("run", b, parent, random() * 40);
      if (failure) failures.push(`cycle ${cycle} (${failure})`);
    }
    expect(failures).toEqual([]);
    expect(cgroupDirs(parent)).toEqual([]);
  });

  for (const [what, content] of [
    ["{}", "{}"],
    ["not JSON", "not json"],
  ] as const) {
    test(`delete --force with state.json ${what}: the container dies, its cgroup and state dir go, a line says what was lost`, async () => {
      const b = makeBundle(["sleep", "600"], (s) => {
        s.linux = { ...s.linux, cgroupsPath: `/husk-corrupt-${process.pid}-${what === "{}" ? 1 : 2}` };
      });
      cleanups.push(() => b.remove());
      const path = b.spec.linux?.cgroupsPath as string;
      cleanups.push(() => removeCgroups(path));
      const id = nextId();
      cleanups.push(async () => {
        await husk(["delete", "--force", id]);
      });
      const { pid } = await createContainer(b.dir, id);
      expect(cgroupDirs(path).length).toBeGreaterThan(0);
      writeFileSync(join(TEST_ROOT, id, "state.json"), content);
      const state = await husk(["state", id]);
      expect(state.code).not.toBe(0);
      expect(state.stderr).toContain("state.json");
      const del = await husk(["delete", "--force", id]);
      expect(del.code).toBe(0);
      expect(del.stderr).toMatch(/^husk: warning: .*state\.json.*\n$/);
      expect(existsSync(join(TEST_ROOT, id))).toBe(false);
      expect(cgroupDirs(path)).toEqual([]);
      expect(alive(pid)).toBe(false);
    });
  }

  test("delete --force of a state dir with nothing in it removes it", async () => {
    const id = nextId();
    const dir = join(TEST_ROOT, id);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(dir, { recursive: true });
    expect((await husk(["delete", id])).stderr).toContain("container does not exist");
    const del = await husk(["delete", "--force", id]);
    expect(del.code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});
