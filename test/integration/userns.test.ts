/**
 * User namespaces: the id maps are written as the spec says, ids inside are the mapped ones,
 * the rootfs owned by the mapped host ids belongs to the container's users, and the default
 * mounts still work. The uid and gid maps differ (host ranges and the number of ranges), so a
 * gid_map written from the uid mappings, or the other way round, shows.
 */
import { expect, test } from "bun:test";
import { chownSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LinuxIDMapping, Spec } from "../../src/oci/types.ts";
import { createContainer, nextId, runSh } from "../fixtures/container.ts";
import { describeAsRoot, husk, ourMounts } from "../fixtures/husk.ts";
import { chownRootfs, makeBundle } from "../fixtures/rootfs.ts";

const UID_MAPS: LinuxIDMapping[] = [
  { containerID: 0, hostID: 100000, size: 1000 },
  { containerID: 1000, hostID: 200000, size: 10 },
];
const GID_MAPS: LinuxIDMapping[] = [
  { containerID: 0, hostID: 300000, size: 900 },
  { containerID: 900, hostID: 400000, size: 200 },
  { containerID: 5000, hostID: 500000, size: 1 },
];

/** A new user namespace with UID_MAPS and GID_MAPS, and the rootfs handed to its root. */
function userns(spec: Spec, rootfs: string): void {
  spec.linux!.namespaces!.push({ type: "user" });
  spec.linux!.uidMappings = UID_MAPS.map((m) => ({ ...m }));
  spec.linux!.gidMappings = GID_MAPS.map((m) => ({ ...m }));
  chownRootfs(rootfs, 100000, 300000);
}

/** /proc/<pid>/uid_map as the kernel prints it. */
function mapText(maps: LinuxIDMapping[]): string {
  return maps
    .map((m) => `${String(m.containerID).padStart(10)} ${String(m.hostID).padStart(10)} ${String(m.size).padStart(10)}\n`)
    .join("");
}

describeAsRoot("user namespace", () => {
  test("root inside, and the id maps read back exactly as in the spec", async () => {
    const r = await runSh("id; echo ---; cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map", userns);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`uid=0(root) gid=0(root)\n---\n${mapText(UID_MAPS)}---\n${mapText(GID_MAPS)}`);
  });

  test("process.user 1000:1000 is host 200000:400100", async () => {
    const bundle = makeBundle(["sh", "-c", "id -u; id -g"], (s, rootfs) => {
      userns(s, rootfs);
      s.process!.user = { uid: 1000, gid: 1000 };
    });
    const id = nextId();
    try {
      // At "created" the init has its final credentials and waits at the exec fifo.
      const { run, pid } = await createContainer(bundle.dir, id);
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(status).toContain("\nUid:\t200000\t200000\t200000\t200000\n");
      expect(status).toContain("\nGid:\t400100\t400100\t400100\t400100\n");
      expect(readFileSync(`/proc/${pid}/uid_map`, "utf8")).toBe(mapText(UID_MAPS));
      expect(readFileSync(`/proc/${pid}/gid_map`, "utf8")).toBe(mapText(GID_MAPS));
      const started = await husk(["start", id]);
      expect(started.stderr).toBe("");
      expect(started.code).toBe(0);
      const r = await run.finish();
      expect(r.stdout).toBe("1000\n1000\n");
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("files owned by mapped host ids belong to the mapped container ids; unmapped ones to nobody", async () => {
    const r = await runSh("stat -c '%u %g %n' /bin/busybox /etc/passwd /home-1005 /root-owned", (s, rootfs) => {
      userns(s, rootfs);
      writeFileSync(join(rootfs, "home-1005"), "");
      chownSync(join(rootfs, "home-1005"), 200005, 400105);
      writeFileSync(join(rootfs, "root-owned"), "");
      chownSync(join(rootfs, "root-owned"), 0, 0);
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("0 0 /bin/busybox\n0 0 /etc/passwd\n1005 1005 /home-1005\n65534 65534 /root-owned\n");
  });

  test("the default spec's mounts all work, sysfs a new instance of the container's network namespace", async () => {
    const before = ourMounts();
    const r = await runSh("awk '{ print $5, $3, $(NF-2) }' /proc/self/mountinfo", userns);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const mounts = new Map(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => {
          const [target, dev, fstype] = l.split(" ");
          return [target, { dev, fstype }];
        }),
    );
    for (const [target, fstype] of [
      ["/proc", "proc"],
      ["/dev", "tmpfs"],
      ["/dev/pts", "devpts"],
      ["/dev/shm", "tmpfs"],
      ["/dev/mqueue", "mqueue"],
      ["/sys", "sysfs"],
    ]) {
      expect({ target, fstype: mounts.get(target!)?.fstype }).toEqual({ target, fstype });
    }
    const hostSysDev = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[4] === "/sys")!
      .split(" ")[2];
    expect(mounts.get("/sys")!.dev).not.toBe(hostSysDev);
    expect(ourMounts()).toEqual(before);
  });

  test("without a network namespace, /sys is the host's sysfs bound read-only", async () => {
    const r = await runSh("grep ' /sys ' /proc/self/mountinfo", (s, rootfs) => {
      userns(s, rootfs);
      s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== "network");
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const fields = r.stdout.trim().split(" ");
    const hostSysDev = `${statSync("/sys").dev >> 8}:${statSync("/sys").dev & 0xff}`;
    expect(fields[2]).toBe(hostSysDev);
    expect(fields[5]!.split(",")).toContain("ro");
  });
});

describeAsRoot("user namespace: host paths its root cannot reach", () => {
  test("bind sources in 0700 directories and a console socket in one are opened before the namespace is entered (runc's userns.bats)", async () => {
    // The sources' parents and the socket's directory are 0700 (root's): the container's root
    // (host uid 100000) could not walk to them by their paths.
    const bundle = makeBundle(["sh", "-c", "cat /mnt/one/f /mnt/two/f; cat /mnt/file; tty"], (s, rootfs) => {
      userns(s, rootfs);
      s.process!.terminal = true;
      for (const name of ["one", "two"]) {
        s.mounts!.push({ destination: `/mnt/${name}`, type: "bind", source: `src-${name}/dir`, options: ["bind"] });
      }
      s.mounts!.push({ destination: "/mnt/file", type: "bind", source: "src-one/dir/f", options: ["rbind", "ro"] });
    });
    const { chmodSync, mkdirSync } = await import("node:fs");
    for (const name of ["one", "two"]) {
      mkdirSync(join(bundle.dir, `src-${name}/dir`), { recursive: true });
      chmodSync(join(bundle.dir, `src-${name}`), 0o700);
      writeFileSync(join(bundle.dir, `src-${name}/dir/f`), `${name}\n`);
    }
    mkdirSync(join(bundle.dir, "tty"), { mode: 0o700 });
    const sock = join(bundle.dir, "tty/console.sock");
    const { spawn } = await import("node:child_process");
    const receiver = spawn("python3", [join(import.meta.dir, "../fixtures/console-receiver.py"), sock], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const id = nextId();
    try {
      let out = "";
      receiver.stdout.on("data", (d) => {
        out += d;
      });
      const exited = new Promise((done) => receiver.on("exit", done));
      for (let i = 0; i < 500 && !out.includes("listening"); i++) await Bun.sleep(10);
      const r = await husk(["run", "--console-socket", sock, "--bundle", bundle.dir, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      await exited;
      expect(out.replaceAll("\r", "")).toMatch(/^listening\none\ntwo\none\n\/dev\/pts\/\d+\n$/);
      // The binds were the container's alone.
      expect(ourMounts().filter((m) => m.startsWith(bundle.dir))).toEqual([]);
    } finally {
      receiver.kill("SIGKILL");
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });
});
