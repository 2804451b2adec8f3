/** The network store's writes (store.ts): whole files by rename, the old inode kept as the next spare and written over. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NetworkRecord, Store } from "../../src/network/store.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rec = (n: number): NetworkRecord => ({
  network: { name: "n", bridge: "b", subnet: "10.0.0.0/24", gateway: "10.0.0.1", mtu: 1500, mac: "", created: "" },
  leases: Array.from({ length: n }, (_, i) => ({
    containerId: `c${i}`,
    ifname: "eth0",
    address: `10.0.0.${i + 2}`,
    mac: "02:00:00:00:00:01",
    hostVeth: `v${i}`,
    ports: [],
  })),
});

test("each write replaces the file whole (a new inode, the old one kept as the spare); list and read see only records", async () => {
  const st = new Store(dir);
  await st.locked(() => st.write(rec(0)));
  const inodes = new Set<number>();
  for (let n = 1; n <= 5; n++) {
    await st.locked(() => st.write(rec(n)));
    expect(st.read("n")!.leases.length).toBe(n);
    inodes.add(statSync(join(dir, "n.json")).ino);
  }
  // Two inodes take turns: written aside, renamed over.
  expect(inodes.size).toBe(2);
  expect(st.names()).toEqual(["n"]);
  expect(readdirSync(dir).sort()).toEqual([".n.json.spare", "n.json"]);
  // A process killed between link and rename leaves .old: the next write goes on.
  writeFileSync(join(dir, ".n.json.old"), "stale");
  await st.locked(() => st.write(rec(7)));
  expect(st.read("n")!.leases.length).toBe(7);
  expect(JSON.parse(readFileSync(join(dir, "n.json"), "utf8")).leases.length).toBe(7);
  await st.locked(() => st.remove("n"));
  expect(readdirSync(dir)).toEqual([]);
});

test("a file that stays unparsable is corrupt, named", () => {
  writeFileSync(join(dir, "n.json"), "{half");
  expect(() => new Store(dir).read("n")).toThrow(/corrupt network file .*n\.json/);
});

test("a shorter record written over a longer spare leaves none of the longer one behind", async () => {
  const st = new Store(dir);
  // The spare is written over, not emptied first: its length is cut to the new text's after.
  for (const n of [9, 8, 1, 0, 12, 2]) {
    await st.locked(() => st.write(rec(n)));
    expect(JSON.parse(readFileSync(join(dir, "n.json"), "utf8")).leases.length).toBe(n);
    expect(st.read("n")!.leases.length).toBe(n);
  }
  expect(statSync(join(dir, ".n.json.spare")).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, "n.json")).mode & 0o777).toBe(0o600);
});
