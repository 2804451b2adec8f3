/**
 * linux.readonlyPaths: each path is bound onto itself and remounted read-only, keeping the
 * nosuid/nodev/noexec and atime flags it had (a read-only remount that dropped them would make
 * the path more permissive than before).
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/oci/types.ts";
import { parseMountinfo, runSh } from "../fixtures/container.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

const FLAGS = ["ro", "rw", "nosuid", "nodev", "noexec", "noatime"];

describeAsRoot("read-only paths", () => {
  test("readonlyPaths refuse writes: /proc/sys and a rootfs directory", async () => {
    const script = "echo husk > /proc/sys/kernel/domainname; echo rc=$?; touch /data/x; echo rc=$?; touch /other/x; echo rc=$?";
    const edit = (ro: boolean) => (s: Spec, rootfs: string) => {
      s.root!.readonly = false;
      mkdirSync(join(rootfs, "data"));
      mkdirSync(join(rootfs, "other"));
      if (ro) s.linux!.readonlyPaths!.push("/data");
      else s.linux!.readonlyPaths = [];
    };
    const r = await runSh(script, edit(true));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("rc=1\nrc=1\nrc=0\n");
    expect(r.stderr).toMatch(/^sh: .*Read-only file system\ntouch: \/data\/x: Read-only file system\n$/);
    // Control: the same writes work when nothing is read-only.
    const open = await runSh(script, edit(false));
    expect(open.stderr).toBe("");
    expect(open.stdout).toBe("rc=0\nrc=0\nrc=0\n");
  });

  test("a read-only path keeps the nosuid, nodev, noexec and noatime of its mount", async () => {
    // /ro and /rw: the same tmpfs options (a copy of the image's directory, with a script in
    // it); only /ro is in readonlyPaths. /rw is the control.
    const script = "/ro/run.sh; echo rc=$?; touch /ro/x; echo rc=$?; touch /rw/x; echo rc=$?; echo ---; cat /proc/self/mountinfo";
    const r = await runSh(script, (s, rootfs) => {
      for (const d of ["ro", "rw"]) {
        mkdirSync(join(rootfs, d));
        writeFileSync(join(rootfs, d, "run.sh"), "#!/bin/sh\necho ran\n");
        chmodSync(join(rootfs, d, "run.sh"), 0o755);
        s.mounts!.push({
          destination: `/${d}`,
          type: "tmpfs",
          source: "tmpfs",
          options: ["nosuid", "nodev", "noexec", "noatime", "tmpcopyup"],
        });
      }
      s.linux!.readonlyPaths!.push("/ro");
    });
    expect(r.code).toBe(0);
    const [results, mountinfo] = r.stdout.split("---\n") as [string, string];
    // noexec still refuses the script (126); ro refuses the write; the control takes it.
    expect(results).toBe("rc=126\nrc=1\nrc=0\n");
    expect(r.stderr).toMatch(/^sh: \/ro\/run\.sh: Permission denied\ntouch: \/ro\/x: Read-only file system\n$/);
    const mounts = parseMountinfo(mountinfo);
    const flags = (target: string) =>
      mounts
        .filter((m) => m.target === target)
        .at(-1)
        ?.options.filter((o) => FLAGS.includes(o));
    expect(flags("/ro")).toEqual(["ro", "nosuid", "nodev", "noexec", "noatime"]);
    expect(flags("/rw")).toEqual(["rw", "nosuid", "nodev", "noexec", "noatime"]);
  });

  test("/proc/sys keeps the flags of the container's /proc", async () => {
    const r = await runSh("cat /proc/self/mountinfo", (s) => {
      const proc = s.mounts!.find((m) => m.destination === "/proc")!;
      proc.options = ["nosuid", "nodev", "noexec"];
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const sys = parseMountinfo(r.stdout)
      .filter((m) => m.target === "/proc/sys")
      .at(-1);
    expect(sys?.options.filter((o) => FLAGS.includes(o))).toEqual(["ro", "nosuid", "nodev", "noexec"]);
  });
});
