/** Names on user networks (src/network/names.ts): who sees whom, and hosts files rewritten in place. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  affected,
  basePath,
  containerNames,
  hostsText,
  PEERS_HEADER,
  peersOf,
  refreshHosts,
  writeInPlace,
} from "../../src/network/names.ts";
import type { Lease, NetworkRecord } from "../../src/network/store.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-names-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lease = (containerId: string, address: string, names?: string[]): Lease => ({
  containerId,
  ifname: "eth0",
  address,
  mac: "02:00:00:00:00:01",
  hostVeth: `husk-${containerId}`,
  ports: [],
  ...(names ? { names, hostsFile: join(dir, containerId, "hosts") } : {}),
});
const net = (name: string, leases: Lease[]): NetworkRecord => ({
  network: { name, bridge: `br-${name}`, subnet: "10.0.0.0/24", gateway: "10.0.0.1", mtu: 1500, mac: "", created: "" },
  leases,
});

test("a container sees the named containers of its user networks, not itself, not other networks, not unnamed ones", () => {
  const recs = [
    net("one", [lease("a", "10.0.0.2", ["a", "alpha"]), lease("b", "10.0.0.3", ["b"]), lease("u", "10.0.0.4")]),
    net("two", [lease("c", "10.0.1.2", ["c"]), lease("b", "10.0.1.3", ["b"])]),
    net("default", [lease("a", "10.0.2.2"), lease("d", "10.0.2.3")]),
  ];
  expect(peersOf(recs, "a")).toEqual([{ address: "10.0.0.3", names: ["b"] }]);
  expect(peersOf(recs, "b")).toEqual([
    { address: "10.0.0.2", names: ["a", "alpha"] },
    { address: "10.0.1.2", names: ["c"] },
  ]);
  expect(peersOf(recs, "c")).toEqual([{ address: "10.0.1.3", names: ["b"] }]);
  // On the default network only (unnamed leases): nobody, and nobody sees it.
  expect(peersOf(recs, "d")).toEqual([]);
  expect(peersOf(recs, "u")).toEqual([]);
  expect([...affected(recs, "one").keys()]).toEqual(["a", "b"]);
  expect([...affected(recs, "default", [lease("z", "10.0.2.9", ["z"])]).keys()]).toEqual(["z"]);
});

test("names: the container's name, its short id, its aliases, once each", () => {
  expect(containerNames("web", "0123456789abcdef0123", ["www", "web"])).toEqual(["web", "0123456789ab", "www"]);
});

test("hosts text: the base, then the others under a header; no header when alone", () => {
  expect(hostsText("127.0.0.1\tlocalhost\n", [])).toBe("127.0.0.1\tlocalhost\n");
  expect(hostsText("127.0.0.1\tlocalhost", [{ address: "10.0.0.3", names: ["b", "bee"] }])).toBe(
    `127.0.0.1\tlocalhost\n${PEERS_HEADER}\n10.0.0.3\tb bee\n`,
  );
});

test("rewritten in place: the same inode (a bind mount of it sees the change), shorter text cut", () => {
  const f = join(dir, "hosts");
  writeFileSync(f, "x".repeat(500));
  const inode = statSync(f).ino;
  expect(writeInPlace(f, "short\n")).toBe(true);
  expect(statSync(f).ino).toBe(inode);
  expect(readFileSync(f, "utf8")).toBe("short\n");
  // Gone (its container removed): nothing made.
  expect(writeInPlace(join(dir, "nope"), "x")).toBe(false);
  // A symlink is not followed.
  const target = join(dir, "target");
  writeFileSync(target, "keep\n");
  symlinkSync(target, join(dir, "link"));
  expect(() => writeInPlace(join(dir, "link"), "evil\n")).toThrow();
  expect(readFileSync(target, "utf8")).toBe("keep\n");
});

test("refresh: each file is its base plus the others it sees; a container without base is skipped", () => {
  const recs = [net("one", [lease("a", "10.0.0.2", ["a"]), lease("b", "10.0.0.3", ["b"]), lease("c", "10.0.0.4", ["c"])])];
  for (const id of ["a", "b", "c"]) {
    const f = join(dir, id, "hosts");
    mkdirSync(join(dir, id));
    writeFileSync(f, "old\n");
    if (id !== "c") writeFileSync(basePath(f), `10.0.0.x\t${id}\n`);
  }
  refreshHosts(recs, affected(recs, "one"));
  expect(readFileSync(join(dir, "a", "hosts"), "utf8")).toBe(`10.0.0.x\ta\n${PEERS_HEADER}\n10.0.0.3\tb\n10.0.0.4\tc\n`);
  expect(readFileSync(join(dir, "b", "hosts"), "utf8")).toContain("10.0.0.2\ta\n");
  expect(readFileSync(join(dir, "c", "hosts"), "utf8")).toBe("old\n");
});
