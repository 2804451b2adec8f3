/**
 * Mounts: a read-only root, bind mounts (ro, recursive, id-mapped, of a file), tmpfs options,
 * mount flags, propagation, and the chroot fallback (--no-pivot). Masked and read-only paths
 * have their own files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RootfsPropagation, Spec } from "../../src/oci/types.ts";
import { type MountInfo, parseMountinfo, runSh } from "../fixtures/container.ts";
import { describeAsRoot, ourMounts } from "../fixtures/husk.ts";
import { chownRootfs } from "../fixtures/rootfs.ts";

function mountAt(mounts: MountInfo[], target: string): MountInfo {
  const found = mounts.filter((m) => m.target === target);
  if (found.length === 0) throw new Error(`nothing mounted on ${target}`);
  return found[found.length - 1]!; // the top one
}

function mustRun(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

describeAsRoot("mounts", () => {
  let hostDir: string;
  let before: string[];

  beforeAll(() => {
    before = ourMounts();
    hostDir = mkdtempSync(join(tmpdir(), "husk-mounts-"));
    // Readable by anyone: the id-mapped mount tests see it through other ids than root's.
    chmodSync(hostDir, 0o755);
    writeFileSync(join(hostDir, "hello"), "from the host\n");
  });

  afterAll(() => {
    rmSync(hostDir, { recursive: true, force: true });
    expect(ourMounts()).toEqual(before);
  });

  test("root.readonly: / refuses writes, a tmpfs on /tmp does not", async () => {
    const r = await runSh("touch /x; echo rc=$?; touch /tmp/x && ls /tmp", (s) => {
      s.root!.readonly = true;
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("rc=1\nx\n");
    expect(r.stderr).toBe("touch: /x: Read-only file system\n");
  });

  test("a read-only bind mount of a host directory shows its content and refuses writes", async () => {
    const r = await runSh(
      "cat /data/hello; touch /data/new; echo rc=$?; grep ' /data ' /proc/self/mountinfo | cut -d' ' -f6",
      (s) => {
        s.mounts!.push({ destination: "/data", type: "bind", source: hostDir, options: ["bind", "ro"] });
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("from the host\nrc=1\nro,relatime\n");
    expect(r.stderr).toBe("touch: /data/new: Read-only file system\n");
    expect(existsSync(join(hostDir, "new"))).toBe(false);
  });

  test("an id-mapped bind mount shows the host's files through its own mappings (read-only too)", async () => {
    // hostDir/hello is owned by root on the host: mapped 0 → 1000 (uid) and 0 → 1001 (gid).
    const r = await runSh("stat -c %u:%g /mapped/hello /plain/hello; touch /mapped/x; echo rc=$?", (s) => {
      s.mounts!.push({
        destination: "/mapped",
        type: "bind",
        source: hostDir,
        options: ["rbind", "ro"],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
      });
      s.mounts!.push({ destination: "/plain", type: "bind", source: hostDir, options: ["bind", "ro"] });
    });
    expect(r.stdout).toBe("1000:1001\n0:0\nrc=1\n");
    expect(r.stderr).toBe("touch: /mapped/x: Read-only file system\n");
  });

  test('"idmap" lends a user-namespaced container its own mappings: root inside owns and writes the host\'s root files', async () => {
    const r = await runSh(
      "stat -c %u /mapped/hello /plain/hello; echo new > /mapped/made && stat -c %u /mapped/made",
      (s, rootfs) => {
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        chownRootfs(rootfs, 100000);
        s.mounts!.push({ destination: "/mapped", type: "bind", source: hostDir, options: ["bind", "rw", "idmap"] });
        s.mounts!.push({ destination: "/plain", type: "bind", source: hostDir, options: ["bind", "ro"] });
      },
    );
    expect(r.stderr).toBe("");
    // Through the id-mapped mount the files are the container root's; without it, nobody's.
    expect(r.stdout).toBe("0\n65534\n0\n");
    // On the host, what the container's root wrote belongs to the host's root.
    expect(statSync(join(hostDir, "made")).uid).toBe(0);
    rmSync(join(hostDir, "made"));
  });

  test("tmpcopyup: the tmpfs starts with a copy of the image's directory (owners, modes, links)", async () => {
    const script =
      "ls -ln /srv/data | grep -v ^total | tr -s ' ' | cut -d' ' -f1,3,4,9-; cat /srv/data/sub/file; echo new > /srv/data/made && echo wrote; grep ' /srv/data ' /proc/self/mountinfo | cut -d' ' -f9";
    const r = await runSh(
      script,
      (s, rootfs) => {
        mkdirSync(join(rootfs, "srv/data/sub"), { recursive: true, mode: 0o750 });
        writeFileSync(join(rootfs, "srv/data/sub/file"), "from the image\n");
        chownSync(join(rootfs, "srv/data/sub/file"), 5, 6);
        chmodSync(join(rootfs, "srv/data/sub"), 0o750);
        // Copied as a link, never followed: the copy cannot be pointed at the host.
        symlinkSync("/etc/shadow", join(rootfs, "srv/data/link"));
        s.mounts!.push({ destination: "/srv/data", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup", "size=1m"] });
      },
      {
        // What the container wrote went to the tmpfs, not into the image.
        inspect: (rootfs) => expect(readdirSync(join(rootfs, "srv/data")).sort()).toEqual(["link", "sub"]),
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("lrwxrwxrwx 0 0 link -> /etc/shadow\ndrwxr-x--- 0 0 sub\nfrom the image\nwrote\ntmpfs\n");
  });

  test("a tmpfs over an image directory keeps its mode, unless mode= is given; a new one is 1777", async () => {
    const r = await runSh("stat -c %a /srv/kept /srv/told /srv/new", (s, rootfs) => {
      for (const d of ["kept", "told"]) mkdirSync(join(rootfs, "srv", d), { recursive: true, mode: 0o750 });
      chmodSync(join(rootfs, "srv/kept"), 0o750);
      chmodSync(join(rootfs, "srv/told"), 0o750);
      s.mounts!.push({ destination: "/srv/kept", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
      s.mounts!.push({ destination: "/srv/told", type: "tmpfs", source: "tmpfs", options: ["mode=700"] });
      s.mounts!.push({ destination: "/srv/new", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("750\n700\n1777\n");
  });

  test("tmpcopyup with ro: the copy is there, writes are refused", async () => {
    const r = await runSh("cat /srv/ro/f; touch /srv/ro/x 2>&1; true", (s, rootfs) => {
      mkdirSync(join(rootfs, "srv/ro"), { recursive: true });
      writeFileSync(join(rootfs, "srv/ro/f"), "kept\n");
      s.mounts!.push({ destination: "/srv/ro", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup"] });
    });
    expect(r.stdout).toBe("kept\ntouch: /srv/ro/x: Read-only file system\n");
  });

  test("a read-only /dev still gets its mounts and devices, and is read-only in the end (runc #3248)", async () => {
    const script =
      "grep '^tmpfs /dev ' /proc/mounts; ls -d /dev/pts /dev/shm /dev/mqueue; echo x > /dev/null && echo null=ok; touch /dev/x 2>&1; true";
    const r = await runSh(script, (s) => {
      const dev = s.mounts!.find((m) => m.destination === "/dev")!;
      dev.options = [...(dev.options ?? []), "ro"];
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^tmpfs \/dev tmpfs ro,/);
    expect(lines.slice(1)).toEqual([
      "/dev/mqueue",
      "/dev/pts",
      "/dev/shm",
      "null=ok",
      "touch: /dev/x: Read-only file system",
      "",
    ]);
  });

  test("rbind brings the submounts along, bind does not; rro makes them all read-only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-rbind-"));
    mkdirSync(join(dir, "sub"));
    let mounted = false;
    try {
      mustRun("mount", ["-t", "tmpfs", "husk-rbind-sub", join(dir, "sub")]);
      mounted = true;
      writeFileSync(join(dir, "sub", "deep"), "deep\n");
      const script = "ls /data/sub; echo ---";
      const withOption = (option: string) => (s: Spec) => {
        s.mounts!.push({ destination: "/data", type: "bind", source: dir, options: [option] });
      };
      const r = await runSh(script, withOption("rbind"));
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("deep\n---\n");
      const plain = await runSh(script, withOption("bind"));
      expect(plain.stderr).toBe("");
      expect(plain.stdout).toBe("---\n");
      // "ro" reaches only the top mount; "rro" (mount_setattr, AT_RECURSIVE) the submounts too.
      const write = "touch /data/sub/x 2>&1 && echo writable; rm -f /data/sub/x";
      const ro = await runSh(write, (s) => {
        s.mounts!.push({ destination: "/data", type: "bind", source: dir, options: ["rbind", "ro"] });
      });
      expect(ro.stdout).toBe("writable\n");
      const rro = await runSh(write, (s) => {
        s.mounts!.push({ destination: "/data", type: "bind", source: dir, options: ["rbind", "rro"] });
      });
      expect(rro.stdout).toBe("touch: /data/sub/x: Read-only file system\n");
    } finally {
      if (mounted) spawnSync("umount", [join(dir, "sub")]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bind mount of a file", async () => {
    const r = await runSh("cat /etc/from-host; grep -c ' /etc/from-host ' /proc/self/mountinfo", (s) => {
      s.mounts!.push({ destination: "/etc/from-host", type: "bind", source: join(hostDir, "hello"), options: ["rbind", "ro"] });
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("from the host\n1\n");
  });

  test("a tmpfs with a size, and nosuid/nodev/noexec in mountinfo", async () => {
    const r = await runSh(
      "cat /proc/self/mountinfo; printf '#!/bin/sh\\necho ran\\n' > /scratch/x && chmod +x /scratch/x && /scratch/x; echo rc=$?",
      (s) => {
        s.mounts!.push({
          destination: "/scratch",
          type: "tmpfs",
          source: "tmpfs",
          options: ["size=1m", "nosuid", "nodev", "noexec", "mode=700"],
        });
        s.mounts!.push({ destination: "/data", type: "bind", source: hostDir, options: ["rbind", "nosuid", "nodev", "noexec"] });
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toEndWith("rc=126\n");
    const mounts = parseMountinfo(r.stdout.slice(0, r.stdout.lastIndexOf("rc=")));
    const scratch = mountAt(mounts, "/scratch");
    expect(scratch.fstype).toBe("tmpfs");
    expect(scratch.superOptions).toContain("size=1024k");
    expect(scratch.superOptions).toContain("mode=700");
    for (const m of [scratch, mountAt(mounts, "/data")]) {
      expect({ target: m.target, options: m.options.filter((o) => ["rw", "nosuid", "nodev", "noexec"].includes(o)) }).toEqual({
        target: m.target,
        options: ["rw", "nosuid", "nodev", "noexec"],
      });
    }
  });

  describe("propagation", () => {
    // A host directory made a shared mount, so that slave mounts of it have a master.
    let shared: string;
    let sharedMounted = false;
    beforeAll(() => {
      shared = mkdtempSync(join(tmpdir(), "husk-shared-"));
      mustRun("mount", ["--bind", shared, shared]);
      sharedMounted = true;
      mustRun("mount", ["--make-shared", shared]);
    });
    afterAll(() => {
      if (sharedMounted) spawnSync("umount", [shared]);
      rmSync(shared, { recursive: true, force: true });
    });

    async function mountsInside(edit: (s: Spec) => void): Promise<MountInfo[]> {
      const r = await runSh("cat /proc/self/mountinfo", edit);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return parseMountinfo(r.stdout);
    }

    // The old root is made slave from its own directory after pivot_root, so the new tree's
    // own propagation (here an rshared bind) is not undone.
    test("a bind mount with rshared is shared inside", async () => {
      const mounts = await mountsInside((s) => {
        s.mounts!.push({ destination: "/sh", type: "bind", source: hostDir, options: ["rbind", "rshared"] });
      });
      const tags = mountAt(mounts, "/sh").tags;
      expect(tags).toHaveLength(1);
      expect(tags[0]).toMatch(/^shared:\d+$/);
    });

    test("a bind mount with rslave of a shared host mount is its slave; rprivate cuts it off", async () => {
      const mounts = await mountsInside((s) => {
        s.mounts!.push({ destination: "/sl", type: "bind", source: shared, options: ["rbind", "rslave"] });
        s.mounts!.push({ destination: "/pr", type: "bind", source: shared, options: ["rbind", "rprivate"] });
      });
      const tags = mountAt(mounts, "/sl").tags;
      expect(tags).toHaveLength(1);
      expect(tags[0]).toMatch(/^master:\d+$/);
      expect(mountAt(mounts, "/pr").tags).toEqual([]);
    });

    test("rootfsPropagation: rslave (the default) keeps host shared mounts as masters, rprivate does not", async () => {
      const bindShared = (propagation?: RootfsPropagation) => (s: Spec) => {
        if (propagation) s.linux!.rootfsPropagation = propagation;
        s.mounts!.push({ destination: "/b", type: "bind", source: shared, options: ["rbind"] });
      };
      for (const propagation of [undefined, "rslave"] as const) {
        const tags = mountAt(await mountsInside(bindShared(propagation)), "/b").tags;
        expect({ propagation, tags: tags.map((t) => t.replace(/\d+$/, "N")) }).toEqual({ propagation, tags: ["master:N"] });
      }
      for (const propagation of ["rprivate"] as const) {
        const tags = mountAt(await mountsInside(bindShared(propagation)), "/b").tags;
        expect({ propagation, tags }).toEqual({ propagation, tags: [] });
      }
    });

    // pivot_root refuses a shared parent of the new root (EINVAL); like runc, husk makes that
    // parent private first, so shared and rshared containers run.
    test("rootfsPropagation: shared and rshared containers run", async () => {
      for (const propagation of ["shared", "rshared"] as const) {
        const r = await runSh("echo ok", (s) => {
          s.linux!.rootfsPropagation = propagation;
        });
        expect({ propagation, stderr: r.stderr, code: r.code, stdout: r.stdout }).toEqual({
          propagation,
          stderr: "",
          code: 0,
          stdout: "ok\n",
        });
      }
    });
  });

  test("--no-pivot runs the container chrooted in its rootfs", async () => {
    const r = await runSh("echo hello; cat /etc/hostname; ls /proc/1/root/ >/dev/null && echo ok", undefined, {
      runArgs: ["--no-pivot"],
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("hello\nfixture\nok\n");
  });
});
