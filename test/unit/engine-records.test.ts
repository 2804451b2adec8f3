/**
 * Removing a container's directory: a rename out of the way at once (the id and name are free
 * again), the deletion later: by the next sweep (the engine sweeps once a container runs) or,
 * failing one, by the process itself once idle; what a process that exited or died first left
 * under .removing goes with the next sweep.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ContainerRecord, newId, Records } from "../../src/engine/records.ts";
import { until } from "../fixtures/engine.ts";

let dataRoot: string;
beforeEach(() => {
  dataRoot = mkdtempSync(join(tmpdir(), "husk-records-"));
});
afterEach(() => {
  rmSync(dataRoot, { recursive: true, force: true });
});

function record(name: string): ContainerRecord {
  return {
    version: 1,
    id: newId(),
    name,
    image: "busybox",
    imageId: "sha256:0",
    created: new Date(0).toISOString(),
    path: "true",
    args: [],
    config: { hostname: "h", env: [], cwd: "/", user: "", entrypoint: [], cmd: [], labels: {} },
    hostConfig: {
      autoRemove: true,
      networkMode: "none",
      portBindings: [],
      memory: 0,
      cpus: 0,
      pidsLimit: 0,
      capAdd: [],
      capDrop: [],
      privileged: false,
      readOnly: false,
    },
    stateRoot: "/run/husk",
    nftTable: "husk",
    detached: false,
    status: "creating",
    pid: 0,
    pidStartTime: "",
    networks: [],
    mounts: [],
  };
}

const removing = () => {
  try {
    return readdirSync(join(dataRoot, "containers", ".removing"));
  } catch {
    return [];
  }
};

test("remove frees the id and the name at once and deletes the directory in the background", async () => {
  const records = new Records(dataRoot);
  const rec = record("one");
  await records.create(rec);
  // A writable layer with something in it, as a container leaves.
  mkdirSync(records.path(rec.id, "upper/etc"), { recursive: true });
  writeFileSync(records.path(rec.id, "upper/etc/hosts"), "x");
  await records.remove(rec);
  expect(existsSync(records.path(rec.id))).toBe(false);
  expect(records.ids()).toEqual([]);
  await records.create(record("one")); // the name is free again
  await until(() => removing().length === 0, 5000, "the background deletion");
  await records.remove(rec); // gone already: nothing to do
});

test("what a dead process left being deleted goes with the next sweep", async () => {
  const records = new Records(dataRoot);
  await records.create(record("first"));
  // pid 2^22+1 is above pid_max's ceiling: no process has it.
  const left = join(dataRoot, "containers", ".removing", `${newId()}.4194305.1`);
  mkdirSync(join(left, "upper/deep/er"), { recursive: true });
  writeFileSync(join(left, "upper/deep/er/file"), "x");
  await records.create(record("second"));
  records.sweep();
  await until(() => removing().length === 0, 5000, "the sweep");
  expect(
    records
      .all()
      .map((r) => r.name)
      .sort(),
  ).toEqual(["first", "second"]);
});

test("a removal waits for a sweep, and without one is deleted by its own process once idle", async () => {
  const records = new Records(dataRoot);
  const rec = record("once");
  await records.create(rec);
  mkdirSync(records.path(rec.id, "upper/etc"), { recursive: true });
  await records.remove(rec);
  expect(records.ids()).toEqual([]);
  await Bun.sleep(10); // nothing is deleted ahead of the caller's next step
  expect(removing()).toHaveLength(1);
  await until(() => removing().length === 0, 5000, "the idle deletion");
});

test("names: found through their index by name, /name, id and prefix; one create of two wins a name", async () => {
  const records = new Records(dataRoot);
  const a = record("alpha");
  const b = record("beta");
  await records.create(a);
  await records.create(b);
  expect(readFileSync(join(dataRoot, "containers", ".names", "alpha"), "utf8")).toBe(a.id);
  expect(records.find("alpha").id).toBe(a.id);
  expect(records.find("/beta").id).toBe(b.id);
  expect(records.find(a.id).name).toBe("alpha");
  expect(records.find(b.id.slice(0, 12)).name).toBe("beta");
  expect(() => records.find("gamma")).toThrow("no such container: gamma");
  const results = await Promise.allSettled([records.create(record("same")), records.create(record("same"))]);
  expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  expect(String((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason)).toContain(
    'the container name "/same" is already in use',
  );
});

test("names: a removal frees the name; a name file whose id has no record is taken over", async () => {
  const records = new Records(dataRoot);
  const first = record("web");
  await records.create(first);
  await records.remove(first);
  expect(existsSync(join(dataRoot, "containers", ".names", "web"))).toBe(false);
  expect(records.named("web")).toBeUndefined();
  const second = record("web");
  await records.create(second);
  expect(records.find("web").id).toBe(second.id);
  // A name file naming an id without a record (an older husk's removal killed between its
  // record's and its name's, or a container directory deleted by hand) is taken over.
  writeFileSync(join(dataRoot, "containers", ".names", "db"), newId());
  expect(records.named("db")).toBeUndefined();
  const third = record("db");
  await records.create(third);
  expect(records.find("db").id).toBe(third.id);
});

test("names: freed before the record goes, without the containers' lock; a claim made meanwhile is never the one deleted", async () => {
  const records = new Records(dataRoot);
  const gone = record("api");
  await records.create(gone);
  // A removal killed between the name's release and its record's: the record left still says
  // "api", but names nothing any more: the name is free, and the next create takes it.
  rmSync(join(dataRoot, "containers", ".names", "api"));
  const next = record("api");
  await records.create(next);
  expect(records.find("api").id).toBe(next.id);
  // Removing the old record (rm -f) leaves the new claim alone.
  await records.remove(gone);
  expect(records.find("api").id).toBe(next.id);
  expect(readFileSync(join(dataRoot, "containers", ".names", "api"), "utf8")).toBe(next.id);
  // While a record still holds its name, no create can claim it.
  await expect(records.create(record("api"))).rejects.toThrow("already in use");
  // A removal whose directory is gone already still frees its name.
  rmSync(records.path(next.id), { recursive: true });
  await records.remove(next);
  expect(existsSync(join(dataRoot, "containers", ".names", "api"))).toBe(false);
});

test("names: a data root from before the index gets one, from its records, at the first create", async () => {
  const records = new Records(dataRoot);
  const old = record("old");
  await records.create(old);
  rmSync(join(dataRoot, "containers", ".names"), { recursive: true });
  expect(records.find("old").id).toBe(old.id); // without the index: the records are read
  await expect(records.create(record("old"))).rejects.toThrow("already in use");
  expect(readFileSync(join(dataRoot, "containers", ".names", "old"), "utf8")).toBe(old.id);
  await records.create(record("new"));
  expect(records.find("new").name).toBe("new");
});

test("names: a name husk made up that is taken is drawn again; one the caller gave is refused", async () => {
  const records = new Records(dataRoot);
  await records.create(record("calm_turing1"));
  const drawn = record("calm_turing1");
  await records.create(drawn, { nameGenerated: true });
  expect(drawn.name).not.toBe("calm_turing1");
  expect(drawn.name).toMatch(/^[a-z]+_[a-z]+\d{1,4}$/);
  expect(records.find(drawn.name).id).toBe(drawn.id);
  await expect(records.create(record("calm_turing1"))).rejects.toThrow("already in use");
});

test("idle: the removals waiting for a sweep or their timer are deleted now, and awaited", async () => {
  const records = new Records(dataRoot);
  for (const name of ["one", "two"]) {
    const rec = record(name);
    await records.create(rec);
    mkdirSync(records.path(rec.id, "upper/deep"), { recursive: true });
    await records.remove(rec);
  }
  expect(removing()).toHaveLength(2);
  await records.idle();
  expect(removing()).toEqual([]);
});
