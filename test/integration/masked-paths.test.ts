/**
 * linux.maskedPaths: a masked file reads empty (/dev/null bound over it); a masked directory
 * lists empty and refuses writes (a read-only tmpfs over it), in /proc and in the rootfs, and
 * nothing written inside reaches the directory underneath.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMountinfo, runSh } from "../fixtures/container.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("masked paths", () => {
  test("masked files read empty", async () => {
    // /proc/kcore only exists with CONFIG_PROC_KCORE (not on every test machine).
    const files = ["/proc/timer_list", "/proc/keys", ...(existsSync("/proc/kcore") ? ["/proc/kcore"] : [])];
    expect(readFileSync("/proc/timer_list", "utf8").length).toBeGreaterThan(0);
    const r = await runSh(files.map((f) => `wc -c < ${f}`).join("; "));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("0\n".repeat(files.length));
  });

  test("a masked directory lists empty, in /proc and in the rootfs", async () => {
    const r = await runSh("ls -A /proc/acpi; echo ---; ls -A /secret; echo ---; ls -A /open", (s, rootfs) => {
      for (const d of ["secret", "open"]) {
        mkdirSync(join(rootfs, d));
        writeFileSync(join(rootfs, d, "file"), "x");
      }
      s.linux!.maskedPaths!.push("/secret");
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("---\n---\nfile\n");
  });

  test("a masked directory is read-only: nothing can be made or changed in it", async () => {
    // The root is writable, so only the mask can refuse; /open is the control.
    const script = [
      "touch /secret/new; echo rc=$?",
      "mkdir /secret/dir; echo rc=$?",
      "echo changed > /secret/file; echo rc=$?",
      "touch /open/new; echo rc=$?",
      "ls -A /secret; echo ---",
      "grep ' /secret ' /proc/self/mountinfo",
    ].join("; ");
    const r = await runSh(
      script,
      (s, rootfs) => {
        s.root!.readonly = false;
        for (const d of ["secret", "open"]) {
          mkdirSync(join(rootfs, d));
          writeFileSync(join(rootfs, d, "file"), "x");
        }
        s.linux!.maskedPaths!.push("/secret");
      },
      {
        inspect: (rootfs) => {
          // Underneath the mask, the rootfs directory is untouched.
          expect(readdirSync(join(rootfs, "secret"))).toEqual(["file"]);
          expect(readFileSync(join(rootfs, "secret/file"), "utf8")).toBe("x");
          expect(readdirSync(join(rootfs, "open")).sort()).toEqual(["file", "new"]);
        },
      },
    );
    expect(r.code).toBe(0);
    const [results, mountinfo] = r.stdout.split("---\n") as [string, string];
    expect(results).toBe("rc=1\nrc=1\nrc=1\nrc=0\n"); // and ls -A /secret printed nothing
    expect(r.stderr.trim().split("\n")).toEqual([
      "touch: /secret/new: Read-only file system",
      "mkdir: can't create directory '/secret/dir': Read-only file system",
      "sh: can't create /secret/file: Read-only file system",
    ]);
    const mask = parseMountinfo(mountinfo).at(-1)!;
    expect(mask.fstype).toBe("tmpfs");
    expect(mask.options).toContain("ro");
  });
});
