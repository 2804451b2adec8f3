/**
 * Named network namespaces shared with iproute2: one made by husk is the one `ip netns exec`
 * enters, one made by `ip netns add` is the one husk attaches to, and removing a namespace in
 * use unpins it while its user keeps it alive.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsAdd, netnsList, netnsPath, netnsRemove } from "../../src/network/index.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { type NetWorld, netWorld, sh } from "../fixtures/network.ts";

let w: NetWorld;
const name = (s: string) => `husk-test-${w.id}-${s}`;

/** The namespace's identity: the nsfs inode behind a pin or /proc/<pid>/ns/net. */
const inode = (path: string) => statSync(path).ino;

describeAsRoot("network: named namespaces", () => {
  beforeEach(() => {
    w = netWorld();
  });
  afterEach(async () => {
    for (const n of netnsList().filter((n) => n.startsWith(`husk-test-${w.id}-`)))
      sh("ip", ["netns", "del", n], { allowFail: true });
    await w.cleanup();
  });

  test("netnsAdd: ip netns lists it and exec enters the same namespace", async () => {
    const path = await netnsAdd(name("a"));
    expect(path).toBe(`/run/netns/${name("a")}`);
    expect(netnsPath(name("a"))).toBe(path);
    expect(netnsList()).toContain(name("a"));
    expect(sh("ip", ["netns", "list"]).stdout).toContain(name("a"));
    const inside = sh("ip", ["netns", "exec", name("a"), "readlink", "/proc/self/ns/net"]).stdout.trim();
    expect(inside).toBe(`net:[${inode(path)}]`);
    expect(inside).not.toBe(readlinkSync("/proc/self/ns/net"));
    // A fresh namespace: only lo, down, as ip netns add leaves it.
    expect(
      sh("ip", ["netns", "exec", name("a"), "ip", "-o", "link"])
        .stdout.trim()
        .split("\n").length,
    ).toBe(1);
    await expect(netnsAdd(name("a"))).rejects.toThrow(/exists/);
    await netnsRemove(name("a"));
    expect(netnsList()).not.toContain(name("a"));
    expect(sh("ip", ["netns", "list"]).stdout).not.toContain(name("a"));
    await expect(netnsRemove(name("a"))).rejects.toThrow(/does not exist/);
  });

  test("the reverse: a namespace made by ip netns add is husk's to attach to and remove", async () => {
    sh("ip", ["netns", "add", name("b")]);
    expect(netnsList()).toContain(name("b"));
    await w.nets.ensureNetwork({ name: "t", bridge: w.bridge(), subnet: "10.213.3.0/24" });
    const e = await w.nets.attach({ network: "t", containerId: "c", netnsPath: netnsPath(name("b")) });
    expect(sh("ip", ["-n", name("b"), "-o", "addr", "show", "dev", "eth0"]).stdout).toContain(`inet ${e.address}/24`);
    await w.nets.detach({ network: "t", containerId: "c" });
    await netnsRemove(name("b"));
    expect(sh("ip", ["netns", "list"]).stdout).not.toContain(name("b"));
  });

  test("removing a namespace in use unpins it; it lives on while used", async () => {
    const path = await netnsAdd(name("c"));
    const ino = inode(path);
    const user = Bun.spawn(["ip", "netns", "exec", name("c"), "sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
    try {
      // Wait until the user is inside.
      let pid = 0;
      for (let i = 0; i < 100 && pid === 0; i++) {
        const found = sh("pgrep", ["-P", String(user.pid)], { allowFail: true }).stdout.trim();
        if (found && readlinkSync(`/proc/${found}/ns/net`) === `net:[${ino}]`) pid = Number(found);
        else if (readlinkSync(`/proc/${user.pid}/ns/net`) === `net:[${ino}]`) pid = user.pid;
        else await Bun.sleep(20);
      }
      expect(pid).toBeGreaterThan(0);
      await netnsRemove(name("c"));
      expect(netnsList()).not.toContain(name("c"));
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(`net:[${ino}]`);
      expect(sh("nsenter", [`--net=/proc/${pid}/ns/net`, "ip", "-o", "link"]).status).toBe(0);
    } finally {
      user.kill("SIGKILL");
      await user.exited;
    }
  });

  test("a directory that is not a mount point is bound on itself and made shared first, as ip does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hk-netns-")); // not husk-*: other tests count mounts there;
    try {
      const path = await netnsAdd("x", { dir });
      const info = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
      const own = info.find((l) => l.split(" ")[4] === dir);
      expect(own).toMatch(/ shared:\d+/);
      expect(info.some((l) => l.split(" ")[4] === path)).toBe(true);
      expect(sh("nsenter", [`--net=${path}`, "readlink", "/proc/self/ns/net"]).stdout.trim()).toBe(`net:[${inode(path)}]`);
      expect(netnsList({ dir })).toEqual(["x"]);
      await netnsRemove("x", { dir });
      expect(netnsList({ dir })).toEqual([]);
    } finally {
      sh("umount", ["-R", dir], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("names that are paths are refused", async () => {
    await expect(netnsAdd("../etc")).rejects.toThrow(/invalid network namespace name/);
    await expect(netnsAdd("")).rejects.toThrow(/invalid network namespace name/);
    expect(() => netnsPath("a/b")).toThrow(/invalid network namespace name/);
  });
});
