/**
 * A hostile rootfs cannot make husk mount or create anything on the host: symlinks (absolute
 * or relative) in mount destinations and device paths are resolved inside the rootfs. And a
 * container's init runs from a sealed memfd, never from husk's helper binary on disk.
 */
import { expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContainer, nextId, runSh } from "../fixtures/container.ts";
import { describeAsRoot, husk, ourMounts } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

function rand(): string {
  return `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

describeAsRoot("security", () => {
  test("rootfs/proc -> an absolute host directory: proc is not mounted on the host", async () => {
    const hostDir = mkdtempSync(join(tmpdir(), "husk-escape-"));
    const before = ourMounts();
    try {
      const r = await runSh("cat /proc/self/mountinfo", (_s, rootfs) => {
        rmSync(join(rootfs, "proc"), { recursive: true });
        symlinkSync(hostDir, join(rootfs, "proc"));
      });
      // proc and sysfs go only on a directory of the rootfs itself, never through a link, whether
      // it dangles inside the rootfs or names a directory there (runc: "must be mounted on
      // ordinary directory").
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('"/proc" (mounts[0])');
      expect(r.stderr).toContain("must be mounted on ordinary directory");
      const inside = await runSh("cat /proc/self/mountinfo", (_s, rootfs) => {
        rmSync(join(rootfs, "proc"), { recursive: true });
        symlinkSync(hostDir, join(rootfs, "proc"));
        mkdirSync(join(rootfs, hostDir), { recursive: true });
      });
      expect(inside.code).not.toBe(0);
      expect(inside.stderr).toContain("must be mounted on ordinary directory");
      expect(ourMounts()).toEqual(before);
      expect(readdirSync(hostDir)).toEqual([]);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  test("a mount destination through a relative link out of the rootfs stays inside", async () => {
    const name = `husk-escape-${rand()}`;
    const before = ourMounts([`/${name}`]);
    const r = await runSh("grep husk-escape-probe /proc/self/mountinfo | cut -d' ' -f5", (s, rootfs) => {
      symlinkSync("../../..", join(rootfs, "evil")); // from <bundle>/rootfs/evil: the host's /
      s.root!.readonly = false;
      s.mounts!.push({ destination: `/evil/${name}`, type: "tmpfs", source: "husk-escape-probe" });
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`/${name}\n`); // ".." stops at the container's root
    expect(existsSync(`/${name}`)).toBe(false);
    expect(ourMounts([`/${name}`])).toEqual(before);
  });

  test("a mount destination that is a dangling link to a host path is refused: nothing made on the host", async () => {
    // mkdir of the link's name fails EEXIST, and the link resolved inside the root leads nowhere.
    const name = `husk-dangle-${rand()}`;
    const before = ourMounts([`/${name}`]);
    const r = await runSh("true", (s, rootfs) => {
      symlinkSync(`/${name}`, join(rootfs, "dangle"));
      s.root!.readonly = false;
      s.mounts!.push({ destination: "/dangle", type: "tmpfs", source: "husk-dangle-probe" });
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/dangle");
    expect(existsSync(`/${name}`)).toBe(false);
    expect(ourMounts([`/${name}`])).toEqual(before);
  });

  test("a bind mount destination through a link to /etc binds inside the rootfs, not on the host's /etc", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-src-"));
    const hostHostname = readFileSync("/etc/hostname", "utf8");
    const before = ourMounts(["/etc"]);
    try {
      writeFileSync(join(dir, "file"), "bound\n");
      const r = await runSh("cat /etc/hostname; grep -c ' /etc/hostname ' /proc/self/mountinfo", (s, rootfs) => {
        symlinkSync("/etc", join(rootfs, "hostetc"));
        s.mounts!.push({ destination: "/hostetc/hostname", type: "bind", source: join(dir, "file"), options: ["bind", "ro"] });
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("bound\n1\n");
      expect(ourMounts(["/etc"])).toEqual(before);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(" /etc/hostname ");
      expect(readFileSync("/etc/hostname", "utf8")).toBe(hostHostname);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("device paths through links or .. create nothing outside the rootfs", async () => {
    const viaAbsolute = `husk-null-${rand()}`;
    const viaDots = `husk-null-${rand()}`;
    const before = ourMounts([`/tmp/${viaAbsolute}`, `/${viaDots}`]);
    const dev = (path: string) => ({ path, type: "c" as const, major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 });
    const r = await runSh(`ls /devlink/${viaAbsolute} /evil/${viaDots}`, (s, rootfs) => {
      symlinkSync("/tmp", join(rootfs, "devlink")); // the host's /tmp, if followed outside
      symlinkSync("../../..", join(rootfs, "evil")); // the host's /, if followed outside
      s.root!.readonly = false;
      s.linux!.devices = [dev(`/devlink/${viaAbsolute}`), dev(`/dev/../../evil/${viaDots}`)];
    });
    expect(existsSync(join(tmpdir(), viaAbsolute))).toBe(false);
    expect(existsSync(`/tmp/${viaAbsolute}`)).toBe(false);
    expect(existsSync(`/${viaDots}`)).toBe(false);
    expect(ourMounts([`/tmp/${viaAbsolute}`, `/${viaDots}`])).toEqual(before);
    // Inside, both were made in the container's own tree.
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`/devlink/${viaAbsolute}\n/evil/${viaDots}\n`);
  });

  test("a created container's init runs from a memfd; its exe cannot be written", async () => {
    const bundle = makeBundle(["true"]);
    const id = nextId();
    try {
      const { pid } = await createContainer(bundle.dir, id);
      expect(pid).toBeGreaterThan(0);
      const exe = readlinkSync(`/proc/${pid}/exe`);
      expect(exe).toContain("memfd:");
      expect(exe).not.toContain("native/husk-helper");
      let error: NodeJS.ErrnoException | undefined;
      try {
        closeSync(openSync(`/proc/${pid}/exe`, "r+"));
      } catch (err) {
        error = err as NodeJS.ErrnoException;
      }
      expect(error?.code).toBe("ETXTBSY");
    } finally {
      const r = await husk(["delete", "--force", id]);
      expect(r.code).toBe(0);
      bundle.remove();
    }
  });
});
