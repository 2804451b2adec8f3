/**
 * Seccomp filters compiled by src/seccomp, loaded by the real kernel: the native helper runs a
 * three-step plan (clone, seccomp, exec) on the host, without namespaces or a rootfs, and the
 * test reads the exit status and what the program left behind. i386 (int 0x80) and x32 calls
 * come from a small C probe built here with the host's gcc.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { helperPath, launch } from "../../src/helper/driver.ts";
import type { LinuxSeccomp } from "../../src/oci/types.ts";
import { CloneMode, type Plan } from "../../src/plan/ops.ts";
import { compileSeccomp } from "../../src/seccomp/index.ts";
import { SYSCALLS_X86_64 } from "../../src/seccomp/syscalls-x86_64.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

const BUSYBOX = "/bin/busybox";
const SIGSYS_STATUS = 128 + 31;

/** Exit status of `argv` exec'd under the filter (128+N when killed by signal N). */
async function runUnder(seccomp: LinuxSeccomp, argv: string[]): Promise<number> {
  const { filter, flags } = compileSeccomp(seccomp);
  const plan: Plan = [
    { what: "create the process", op: { op: "clone", flags: 0, mode: CloneMode.Wait } },
    { what: "load the seccomp filter", origin: "linux.seccomp", op: { op: "seccomp", filter, flags } },
    { what: `exec ${argv[0]}`, op: { op: "exec", argv, env: ["PATH=/bin:/usr/bin"] } },
  ];
  const launched = await launch(plan, { preserveFds: 0 });
  return launched.exited;
}

/** `sh -c script` under the filter. */
const sh = (seccomp: LinuxSeccomp, script: string) => runUnder(seccomp, [BUSYBOX, "sh", "-c", script]);

const allowAllBut = (syscalls: LinuxSeccomp["syscalls"]): LinuxSeccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls });

const fresh = () => mkdtempSync(join(tmpdir(), "husk-seccomp-"));

const PROBE_C = `
  #include <stdlib.h>
  #include <string.h>
  /* Exit 0 if the call returned >= 0, else its errno. */
  int main(int argc, char **argv) {
    long r;
    if (argc > 1 && strcmp(argv[1], "i386") == 0)
      __asm__ volatile ("int $0x80" : "=a"(r) : "a"(64L) : "memory"); /* i386 getppid */
    else
      __asm__ volatile ("syscall" : "=a"(r) : "a"(0x40000000L | 39) : "rcx", "r11", "memory"); /* x32 getpid */
    r = (int)r;
    return r >= 0 ? 0 : (int)-r;
  }`;

/**
 * The probe, built with the host's gcc when this file loads, so that a test that cannot run
 * here is skipped by the runner with the reason in its name.
 */
const probe = (() => {
  const dir = mkdtempSync(join(tmpdir(), "husk-seccomp-probe-"));
  const path = join(dir, "probe");
  writeFileSync(join(dir, "probe.c"), PROBE_C);
  spawnSync("gcc", ["-O1", "-o", path, join(dir, "probe.c")]);
  const missing = existsSync(path) ? undefined : "no gcc to build the probe";
  const i386Missing =
    missing ?? (spawnSync(path, ["i386"]).status === 0 ? undefined : "this kernel runs no int 0x80 (no IA32 emulation)");
  return { dir, path, missing, i386Missing };
})();

const skipped = (why: string | undefined) => (why ? ` (skipped: ${why})` : "");

afterAll(() => rmSync(probe.dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(helperPath())) spawnSync("make", ["-C", join(import.meta.dir, "../../native")], { stdio: "inherit" });
});

describeAsRoot("seccomp", () => {
  test("mkdir and mkdirat → SCMP_ACT_ERRNO 13: busybox reports Permission denied", async () => {
    const d = fresh();
    try {
      const profile = allowAllBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }]);
      expect(await sh(profile, `mkdir ${d}/x 2>${d}/err`)).toBe(1);
      expect(readFileSync(`${d}/err`, "utf8")).toContain("Permission denied");
      expect(existsSync(`${d}/x`)).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("a default-allow profile lets mkdir through", async () => {
    const d = fresh();
    try {
      const profile = allowAllBut([{ names: ["rmdir"], action: "SCMP_ACT_ERRNO" }]);
      expect(await runUnder(profile, [BUSYBOX, "mkdir", `${d}/x`])).toBe(0);
      expect(existsSync(`${d}/x`)).toBe(true);
      expect(await sh(profile, `rmdir ${d}/x 2>/dev/null`)).toBe(1);
      expect(existsSync(`${d}/x`)).toBe(true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("an allow-list profile (default ERRNO) with every flag husk supports", async () => {
    const d = fresh();
    try {
      const names = Object.keys(SYSCALLS_X86_64).filter((n) => n !== "mkdir" && n !== "mkdirat");
      const profile: LinuxSeccomp = {
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        syscalls: [{ names, action: "SCMP_ACT_ALLOW" }],
      };
      expect(compileSeccomp(profile).flags).toBe(7);
      expect(await sh(profile, `echo ok >${d}/out; mkdir ${d}/x 2>${d}/err`)).toBe(1);
      expect(readFileSync(`${d}/out`, "utf8")).toBe("ok\n");
      expect(readFileSync(`${d}/err`, "utf8")).toContain("Operation not permitted");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("argument rules: kill(pid, SIGUSR2) refused, other signals pass", async () => {
    const d = fresh();
    try {
      const profile = allowAllBut([
        { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 12, op: "SCMP_CMP_EQ" }] },
      ]);
      // Without the filter, the shell would die of its own SIGUSR2 (status 140).
      expect(await sh(profile, `kill -0 $$ || exit 10; kill -USR2 $$ 2>${d}/err && exit 11; exit 0`)).toBe(0);
      expect(readFileSync(`${d}/err`, "utf8")).toContain("Operation not permitted");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("SCMP_CMP_MASKED_EQ: unshare(CLONE_NEWUSER) refused, unshare(CLONE_NEWUTS) allowed", async () => {
    const CLONE_NEWUSER = 0x10000000;
    const profile = allowAllBut([
      {
        names: ["unshare"],
        action: "SCMP_ACT_ERRNO",
        args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: "SCMP_CMP_MASKED_EQ" }],
      },
    ]);
    expect(await runUnder(profile, [BUSYBOX, "unshare", "-u", "true"])).toBe(0);
    expect(await sh(profile, "unshare -U true 2>/dev/null")).not.toBe(0);
    expect(await runUnder(allowAllBut([]), [BUSYBOX, "unshare", "-U", "true"])).toBe(0);
  });

  test("SCMP_ACT_KILL_PROCESS and SCMP_ACT_TRAP end the process with SIGSYS", async () => {
    for (const action of ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"] as const) {
      expect([action, await runUnder(allowAllBut([{ names: ["uname"], action }]), [BUSYBOX, "uname"])]).toEqual([
        action,
        SIGSYS_STATUS,
      ]);
    }
    expect(await runUnder(allowAllBut([{ names: ["uname"], action: "SCMP_ACT_LOG" }]), [BUSYBOX, "true"])).toBe(0);
  });

  test("a filter the kernel refuses fails its plan step", async () => {
    const { filter } = compileSeccomp(allowAllBut([]));
    const plan: Plan = [
      { what: "create the process", op: { op: "clone", flags: 0, mode: CloneMode.Wait } },
      { what: "load the seccomp filter", origin: "linux.seccomp", op: { op: "seccomp", filter, flags: 32 } }, // WAIT_KILLABLE_RECV alone
      { what: "exec", op: { op: "exec", argv: [BUSYBOX, "true"], env: [] } },
    ];
    await expect(launch(plan, { preserveFds: 0 })).rejects.toThrow(
      "load the seccomp filter (linux.seccomp): invalid argument (EINVAL)",
    );
  });

  // ---- other ABIs: i386 through int 0x80, x32 through `syscall` with bit 30 set

  test.skipIf(!!probe.i386Missing)(
    `i386: killed unless SCMP_ARCH_X86 is listed, then filtered by i386 numbers${skipped(probe.i386Missing)}`,
    async () => {
      const p = probe.path;
      expect(await runUnder(allowAllBut([]), [p, "i386"])).toBe(SIGSYS_STATUS);
      const x86: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] };
      expect(await runUnder(x86, [p, "i386"])).toBe(0);
      expect(
        await runUnder({ ...x86, syscalls: [{ names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 5 }] }, [p, "i386"]),
      ).toBe(5);
    },
  );

  test.skipIf(!!probe.missing)(
    `x32: killed unless SCMP_ARCH_X32 is listed, then filtered by x32 numbers${skipped(probe.missing)}`,
    async () => {
      const p = probe.path;
      expect(await runUnder(allowAllBut([]), [p, "x32"])).toBe(SIGSYS_STATUS);
      const x32: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] };
      // Let through: the pid, or ENOSYS from a kernel built without x32 — either way not killed.
      expect([0, 38]).toContain(await runUnder(x32, [p, "x32"]));
      expect(
        await runUnder({ ...x32, syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 7 }] }, [p, "x32"]),
      ).toBe(7);
    },
  );
});
