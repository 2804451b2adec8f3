/**
 * IPAM: leases on disk under the data root's lock. Addresses handed out at once — by one
 * process, by several — are distinct; released ones come back; an owner is recognised by pid
 * and start time. No root needed: only files and flock.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocate, claim, partitionStale } from "../../src/network/ipam.ts";
import { Networks } from "../../src/network/networks.ts";
import { type NetworkRecord, ownerAlive, processOwner, processStartTime, Store } from "../../src/network/store.ts";

let dataRoot: string;

beforeEach(() => {
  dataRoot = mkdtempSync(join(tmpdir(), "husk-ipam-"));
});
afterEach(() => rmSync(dataRoot, { recursive: true, force: true }));

function record(subnet = "10.90.0.0/24", gateway = "10.90.0.1"): NetworkRecord {
  return {
    network: { name: "t", bridge: "huskt0", subnet, gateway, mtu: 1500, mac: "02:00:00:00:00:01", created: "" },
    leases: [],
  };
}

/** A network on disk only: reserve() needs the record, not the bridge. */
async function seed(rec: NetworkRecord): Promise<void> {
  const store = new Store(dataRoot);
  await store.locked(() => store.write(rec));
}

const lease = (address: string, containerId = address) => ({
  containerId,
  ifname: "eth0",
  address,
  mac: "",
  hostVeth: "",
  ports: [],
});

test("allocate: the lowest address that is neither the gateway nor leased", () => {
  const rec = record();
  expect(allocate(rec)).toBe("10.90.0.2");
  rec.leases.push(lease("10.90.0.2"), lease("10.90.0.4"));
  expect(allocate(rec)).toBe("10.90.0.3");
  const gw = record("10.90.0.0/24", "10.90.0.2");
  expect(allocate(gw)).toBe("10.90.0.1");
});

test("allocate: a full network says so", () => {
  const rec = record("10.90.0.0/30"); // hosts .1 (gateway) and .2
  rec.leases.push(lease("10.90.0.2"));
  expect(() => allocate(rec)).toThrow(/no free address left/);
});

test("claim: a free host address of the network only", () => {
  const rec = record();
  rec.leases.push(lease("10.90.0.9", "c9"));
  expect(claim(rec, "10.90.0.10")).toBe("10.90.0.10");
  expect(() => claim(rec, "10.90.0.9")).toThrow(/in use by container c9/);
  expect(() => claim(rec, "10.90.0.1")).toThrow(/is the gateway/);
  expect(() => claim(rec, "10.90.1.5")).toThrow(/not in network t/);
  expect(() => claim(rec, "10.90.0.255")).toThrow(/not in network t/);
});

test("50 parallel reservations in one process get 50 distinct addresses, all on disk", async () => {
  await seed(record("10.90.0.0/24"));
  const nets = new Networks({ dataRoot });
  const leases = await Promise.all(Array.from({ length: 50 }, (_, i) => nets.reserve({ network: "t", containerId: `c${i}` })));
  const addresses = leases.map((l) => l.address);
  expect(new Set(addresses).size).toBe(50);
  expect(
    nets
      .inspect("t")
      .leases.map((l) => l.address)
      .sort(),
  ).toEqual([...addresses].sort());
  expect(new Set(leases.map((l) => l.hostVeth)).size).toBe(50);
  expect(new Set(leases.map((l) => l.mac)).size).toBe(50);
});

test("50 reservations from 5 processes at once get 50 distinct addresses", async () => {
  await seed(record("10.90.0.0/24"));
  const worker = join(import.meta.dir, "../fixtures/network-reserve.ts");
  const runs = Array.from({ length: 5 }, (_, p) => {
    const child = spawn(process.execPath, [worker, dataRoot, "t", `p${p}`, "10"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    return new Promise<string[]>((resolve, reject) =>
      child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${code}`)))),
    );
  });
  const addresses = (await Promise.all(runs)).flat();
  expect(addresses.length).toBe(50);
  expect(new Set(addresses).size).toBe(50);
  const onDisk = new Networks({ dataRoot }).inspect("t").leases;
  expect(onDisk.length).toBe(50);
  expect(new Set(onDisk.map((l) => l.address)).size).toBe(50);
});

test("one lease per container interface; an address asked for is given if free", async () => {
  await seed(record());
  const nets = new Networks({ dataRoot });
  const a = await nets.reserve({ network: "t", containerId: "a" });
  await expect(nets.reserve({ network: "t", containerId: "a" })).rejects.toThrow(/already attached to network t as eth0/);
  const a1 = await nets.reserve({ network: "t", containerId: "a", ifname: "eth1" });
  expect(a1.address).not.toBe(a.address);
  const b = await nets.reserve({ network: "t", containerId: "b", address: "10.90.0.77" });
  expect(b.address).toBe("10.90.0.77");
  // The records as written: whole JSON, readable by another process.
  const onDisk = JSON.parse(readFileSync(join(dataRoot, "t.json"), "utf8")) as NetworkRecord;
  expect(onDisk.leases.map((l) => l.containerId)).toEqual(["a", "a", "b"]);
});

test("owners: alive while the process with that pid and start time is", async () => {
  const me = processOwner();
  expect(ownerAlive(me)).toBe(true);
  expect(ownerAlive(undefined)).toBe(true); // no owner: nobody can say it is gone
  expect(ownerAlive({ pid: me.pid, startTime: me.startTime + 1 })).toBe(false); // pid reused
  const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  const dead = Number(child.stdout.trim());
  expect(processStartTime(dead)).toBeUndefined();
  expect(ownerAlive({ pid: dead, startTime: 1 })).toBe(false);
  const leases = [
    { ...lease("10.90.0.2"), owner: me },
    { ...lease("10.90.0.3"), owner: { pid: dead, startTime: 1 } },
  ];
  const { live, stale } = await partitionStale(leases, (l) => ownerAlive(l.owner));
  expect(live.map((l) => l.address)).toEqual(["10.90.0.2"]);
  expect(stale.map((l) => l.address)).toEqual(["10.90.0.3"]);
});

test("a corrupt network file is reported, not taken for an empty one", async () => {
  await seed(record());
  writeFileSync(join(dataRoot, "t.json"), "{ nope");
  expect(() => new Networks({ dataRoot }).inspect("t")).toThrow(/corrupt network file/);
});
