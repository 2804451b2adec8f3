/**
 * The engine's security options, pure: husk's default seccomp profile compiled and run in a BPF
 * interpreter for the container's capabilities, docker's profile format converted (and refused
 * with the file and field named), --security-opt / --ulimit / --uidmap values checked.
 */
import { describe, expect, test } from "bun:test";
import { flagMessage } from "../../src/cli/engine/run.ts";
import { checkRunOptions } from "../../src/engine/options.ts";
import { dockerProfileToOci } from "../../src/engine/seccomp-docker.ts";
import { DEFAULT_PROFILE, defaultSeccomp } from "../../src/engine/seccomp-profile.ts";
import { capabilities, DOCKER_CAPS } from "../../src/engine/spec.ts";
import { HuskError } from "../../src/errors.ts";
import type { LinuxSeccomp } from "../../src/oci/types.ts";
import { SECCOMP_RET } from "../../src/seccomp/actions.ts";
import { AUDIT_ARCH_I386, X32_SYSCALL_BIT } from "../../src/seccomp/arches.ts";
import { compileSeccomp, decodeFilter } from "../../src/seccomp/index.ts";
import { SYSCALLS_I386 } from "../../src/seccomp/syscalls-i386.ts";
import { SYSCALLS_X32 } from "../../src/seccomp/syscalls-x32.ts";
import { SYSCALLS_X86_64 } from "../../src/seccomp/syscalls-x86_64.ts";
import { type Data, run, verify } from "../fixtures/seccomp-bpf.ts";

const ALLOW = SECCOMP_RET.ALLOW;
const errno = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = errno(1);
const ENOSYS = errno(38);

function filterFor(seccomp: LinuxSeccomp) {
  const out = compileSeccomp(seccomp);
  const prog = decodeFilter(out.filter);
  verify(prog);
  return { ...out, prog, exec: (name: string, ...args: (number | bigint)[]) => run(prog, { nr: SYSCALLS_X86_64[name]!, args }) };
}

const caps = (add: string[] = [], drop: string[] = []) =>
  capabilities({ capAdd: add.map((c) => `CAP_${c}`), capDrop: drop.map((c) => `CAP_${c}`), privileged: false });

const CLONE_NEWNS = 0x20000;
const SIGCHLD = 17;

describe("default seccomp profile", () => {
  const docker = filterFor(defaultSeccomp(DOCKER_CAPS, "6.1.0"));

  test("docker's shape: EPERM by default, x86_64 with i386 and x32, names the ABIs know", () => {
    const s = defaultSeccomp(DOCKER_CAPS, "6.1.0");
    expect(s.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    // Every name is a syscall of one of the three ABIs but these (other architectures' own;
    // the runtime skips them with a warning).
    const all = new Set([...Object.keys(SYSCALLS_X86_64), ...Object.keys(SYSCALLS_I386), ...Object.keys(SYSCALLS_X32)]);
    const unknown = s.syscalls!.flatMap((sc) => sc.names.filter((n) => !all.has(n)));
    expect(unknown.sort()).toEqual(["recv", "riscv_hwprobe", "send"]);
    expect(docker.prog.length).toBeLessThan(4096);
  });

  test("ordinary syscalls pass, the dangerous ones get EPERM", () => {
    for (const name of ["read", "write", "openat", "execve", "mmap", "futex", "wait4", "setuid", "chown", "getrandom", "prctl"])
      expect(docker.exec(name)).toBe(ALLOW);
    for (const name of ["keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "bpf", "init_module"])
      expect(docker.exec(name)).toBe(EPERM);
    for (const name of ["reboot", "settimeofday", "clock_settime", "acct", "kexec_load", "open_by_handle_at", "pivot_root"])
      expect(docker.exec(name)).toBe(EPERM);
    expect(docker.exec("chroot")).toBe(ALLOW); // CAP_SYS_CHROOT is one of docker's
  });

  test("argument conditions: personality, socket families, clone flags; clone3 → ENOSYS", () => {
    for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(docker.exec("personality", p)).toBe(ALLOW);
    for (const p of [0x0400000, 0x8000008, 1]) expect(docker.exec("personality", p)).toBe(EPERM);
    expect(docker.exec("socket", 2)).toBe(ALLOW); // AF_INET
    expect(docker.exec("socket", 39)).toBe(ALLOW);
    expect(docker.exec("socket", 38)).toBe(EPERM); // AF_ALG
    expect(docker.exec("socket", 40)).toBe(EPERM); // AF_VSOCK
    expect(docker.exec("clone", SIGCHLD)).toBe(ALLOW);
    expect(docker.exec("clone", 0x3d0f00)).toBe(ALLOW); // a thread
    expect(docker.exec("clone", CLONE_NEWNS | SIGCHLD)).toBe(EPERM);
    expect(docker.exec("clone", 0x40000000 | SIGCHLD)).toBe(EPERM); // CLONE_NEWNET
    expect(docker.exec("clone3")).toBe(ENOSYS);
  });

  test("the other ABIs are filtered too", () => {
    const prog = docker.prog;
    const i386 = (name: string, ...args: number[]) => run(prog, { nr: SYSCALLS_I386[name]!, arch: AUDIT_ARCH_I386, args });
    const x32 = (name: string) => run(prog, { nr: X32_SYSCALL_BIT + SYSCALLS_X32[name]! } as Data);
    expect(i386("read")).toBe(ALLOW);
    expect(i386("keyctl")).toBe(EPERM);
    expect(i386("personality", 0x0400000)).toBe(EPERM);
    expect(x32("read")).toBe(ALLOW);
    expect(x32("unshare")).toBe(EPERM);
  });

  test("capabilities unlock their syscalls", () => {
    const admin = filterFor(defaultSeccomp(caps(["SYS_ADMIN"]), "6.1.0"));
    for (const name of ["unshare", "setns", "mount", "umount2", "sethostname", "fsopen", "clone3"])
      expect(admin.exec(name)).toBe(ALLOW);
    expect(admin.exec("clone", CLONE_NEWNS | SIGCHLD)).toBe(ALLOW);
    expect(admin.exec("keyctl")).toBe(EPERM); // no capability unlocks it
    expect(admin.exec("init_module")).toBe(EPERM);
    const more = filterFor(defaultSeccomp(caps(["SYS_PTRACE", "SYS_TIME", "SYS_MODULE", "SYS_BOOT"]), "6.1.0"));
    for (const name of ["kcmp", "pidfd_getfd", "settimeofday", "clock_settime", "init_module", "finit_module", "reboot"])
      expect(more.exec(name)).toBe(ALLOW);
    expect(more.exec("unshare")).toBe(EPERM); // NET_ADMIN-like caps do not unlock unshare
    const netAdmin = filterFor(defaultSeccomp(caps(["NET_ADMIN"]), "6.1.0"));
    expect(netAdmin.exec("unshare")).toBe(EPERM);
    const noChroot = filterFor(defaultSeccomp(caps([], ["SYS_CHROOT"]), "6.1.0"));
    expect(noChroot.exec("chroot")).toBe(EPERM);
  });

  test("ptrace: everyone's from kernel 4.8 (the filter cannot be bypassed there), else only with CAP_SYS_PTRACE", () => {
    expect(docker.exec("ptrace")).toBe(ALLOW);
    expect(filterFor(defaultSeccomp(DOCKER_CAPS, "4.4.0")).exec("ptrace")).toBe(EPERM);
    expect(filterFor(defaultSeccomp(caps(["SYS_PTRACE"]), "4.4.0")).exec("ptrace")).toBe(ALLOW);
  });

  test("the profile is data: the converter reads it like a user's file", () => {
    const viaJson = dockerProfileToOci(JSON.parse(JSON.stringify(DEFAULT_PROFILE)), { caps: DOCKER_CAPS, kernel: "6.1" }, "x");
    expect(viaJson).toEqual(defaultSeccomp(DOCKER_CAPS, "6.1"));
  });
});

describe("docker's profile format", () => {
  const ctx = { caps: ["CAP_CHOWN"], kernel: "5.10.0", source: "/p.json" };

  test("archMap picks x86_64 and its sub-architectures; name is names; includes and excludes", () => {
    const out = dockerProfileToOci(
      {
        defaultAction: "SCMP_ACT_ERRNO",
        archMap: [
          { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
          { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] },
        ],
        syscalls: [
          { name: "read", action: "SCMP_ACT_ALLOW", comment: "old form" },
          { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
          { names: ["chown"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_CHOWN"], arches: ["amd64"] } },
          { names: ["set_tls"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
          { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "6.0" } },
          { names: ["kcmp"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "5.4" } },
          { names: ["write"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_CHOWN"] } },
          { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 5, op: "SCMP_CMP_MASKED_EQ" }] },
          { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 13, excludes: { arches: ["s390x"] } },
        ],
      },
      ctx,
      "RunOptions.seccomp",
    );
    expect(out).toEqual({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { names: ["chown"], action: "SCMP_ACT_ALLOW" },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 5, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
      ],
    });
  });

  test("an OCI profile passes through; an empty one means no filter", () => {
    const oci: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    };
    expect(dockerProfileToOci(oci, ctx, "o")).toEqual(oci);
    expect(dockerProfileToOci({}, ctx, "o")).toBeUndefined();
  });

  test("a bad profile is one error naming the file and the field", () => {
    const cases: [unknown, RegExp][] = [
      [[], /\/p\.json: must be a JSON object/],
      [{ defaultAction: "SCMP_ACT_NOPE" }, /\/p\.json: defaultAction: unknown action "SCMP_ACT_NOPE"/],
      [{ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }, /defaultAction: required/],
      [
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "KILL" }] },
        /syscalls\[0\]\.action: unknown action "KILL"/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: "read", action: "SCMP_ACT_LOG" }] },
        /syscalls\[0\]\.names: must be an array/,
      ],
      [
        {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{}, { names: ["a"], action: "SCMP_ACT_LOG", args: [{ index: 7, op: "SCMP_CMP_EQ" }] }],
        },
        /syscalls\[0\]\.action/,
      ],
      [
        {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["a"], action: "SCMP_ACT_LOG", args: [{ index: 7, op: "SCMP_CMP_EQ" }] }],
        },
        /syscalls\[0\]\.args\[0\]\.index: must be a whole number from 0 to 5/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_LOG", args: [{ index: 0, op: "EQ" }] }] },
        /args\[0\]\.op: unknown operator "EQ"/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ name: "a", names: ["b"], action: "SCMP_ACT_LOG" }] },
        /syscalls\[0\]: both "name" and "names"/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_LOG", includes: { minKernel: "new" } }] },
        /syscalls\[0\]\.includes\.minKernel: invalid kernel version "new"/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], archMap: [] },
        /both "architectures" and "archMap"/,
      ],
      [{ defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] }, /architectures\[0\]: unknown architecture "x86_64"/],
      [{ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 }, /defaultErrnoRet: must be a whole number from 0 to 65535/],
      [{ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_X"] }, /flags\[0\]: unknown flag/],
    ];
    for (const [profile, message] of cases) {
      let err: unknown;
      try {
        dockerProfileToOci(profile, ctx, "RunOptions.seccomp");
      } catch (e) {
        err = e;
      }
      expect([JSON.stringify(profile), err instanceof HuskError]).toEqual([JSON.stringify(profile), true]);
      expect((err as HuskError).origin).toBe("RunOptions.seccomp");
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toStartWith("RunOptions.seccomp: /p.json: ");
    }
  });
});

describe("security options", () => {
  const check = (o: Record<string, unknown>) => checkRunOptions(o).security;
  const fails = (o: Record<string, unknown>, origin: string, message: RegExp) => {
    let err: unknown;
    try {
      check(o);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HuskError);
    expect((err as HuskError).origin).toBe(`RunOptions.${origin}`);
    expect((err as Error).message).toMatch(message);
  };

  test("defaults: docker's seccomp profile, no ulimits, no user namespace", () => {
    expect(check({})).toEqual({
      seccomp: { kind: "default" },
      noNewPrivileges: false,
      ulimits: [],
      uidMap: [],
      gidMap: [],
      warnings: [],
    });
  });

  test("--security-opt forms", () => {
    expect(check({ securityOpt: ["seccomp=unconfined"] }).seccomp).toEqual({ kind: "unconfined" });
    expect(check({ securityOpt: ["seccomp:/p.json"] }).seccomp).toEqual({ kind: "file", path: "/p.json" });
    expect(check({ securityOpt: ["no-new-privileges"] }).noNewPrivileges).toBe(true);
    expect(check({ securityOpt: ["no-new-privileges=false"] }).noNewPrivileges).toBe(false);
    expect(check({ securityOpt: ["no-new-privileges:true"] }).noNewPrivileges).toBe(true);
    expect(check({ noNewPrivileges: true }).noNewPrivileges).toBe(true);
    expect(check({ seccomp: { defaultAction: "SCMP_ACT_ALLOW" } }).seccomp).toEqual({
      kind: "profile",
      profile: { defaultAction: "SCMP_ACT_ALLOW" },
    });
    const w = check({ securityOpt: ["apparmor=docker-default", "label=disable"] }).warnings;
    expect(w).toEqual([
      "--security-opt apparmor=docker-default ignored: this host has no AppArmor",
      "--security-opt label=disable ignored: this host has no SELinux",
    ]);
    fails({ securityOpt: ["bogus"] }, "securityOpt[0]", /invalid --security-opt "bogus"/);
    fails({ securityOpt: ["seccomp="] }, "securityOpt[0]", /seccomp needs a value/);
    fails({ securityOpt: ["no-new-privileges=maybe"] }, "securityOpt[0]", /true or false/);
    fails({ securityOpt: ["seccomp=unconfined"], seccomp: "default" }, "seccomp", /given twice/);
    fails({ seccomp: "relative.json" }, "seccomp", /absolute path/);
    fails({ securityOpt: "seccomp=unconfined" }, "securityOpt", /must be an array/);
    fails({ noNewPrivileges: "yes" }, "noNewPrivileges", /boolean/);
  });

  test("--ulimit", () => {
    expect(check({ ulimits: ["nofile=1024:2048", "core=0", { name: "nproc", soft: 100 }, "memlock=-1:-1"] }).ulimits).toEqual([
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 2048, name: "nofile" },
      { type: "RLIMIT_CORE", soft: 0, hard: 0, name: "core" },
      { type: "RLIMIT_NPROC", soft: 100, hard: 100, name: "nproc" },
      { type: "RLIMIT_MEMLOCK", soft: 2 ** 64, hard: 2 ** 64, name: "memlock" },
    ]);
    fails({ ulimits: ["files=10"] }, "ulimits[0]", /unknown ulimit "files"/);
    fails({ ulimits: ["nofile=20:10"] }, "ulimits[0]", /soft limit 20 is above the hard limit 10/);
    fails({ ulimits: ["nofile"] }, "ulimits[0]", /NAME=SOFT\[:HARD\]/);
    fails({ ulimits: ["nofile=x"] }, "ulimits[0]", /invalid soft limit of nofile "x"/);
    fails({ ulimits: ["nofile=1", "nofile=2"] }, "ulimits[1]", /given twice/);
  });

  test("--uidmap and --gidmap", () => {
    const s = check({ uidMap: ["0:100000:65536"] });
    expect(s.uidMap).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(s.gidMap).toEqual(s.uidMap); // podman: the gid map defaults to the uid map
    expect(check({ uidMap: ["0:1000:1", { containerId: 1, hostId: 200000, size: 10 }], gidMap: ["0:5:1"] }).gidMap).toEqual([
      { containerID: 0, hostID: 5, size: 1 },
    ]);
    fails({ uidMap: ["0:1000"] }, "uidMap[0]", /CONTAINER:HOST:COUNT/);
    fails({ uidMap: ["0:1000:0"] }, "uidMap[0]", /at least 1/);
    fails({ uidMap: ["0:4294967295:2"] }, "uidMap[0]", /runs past/);
    fails({ uidMap: ["0:1000:10", "5:2000:10"] }, "uidMap", /overlap on the container side/);
    fails({ uidMap: ["0:1000:10", "20:1005:10"] }, "uidMap", /overlap on the host side/);
    fails({ gidMap: ["0:1000:10"] }, "gidMap", /needs uidMap/);
  });

  test("the CLI names its flags", () => {
    const msg = (o: Record<string, unknown>) => {
      try {
        checkRunOptions(o);
      } catch (e) {
        return (flagMessage(e) as Error).message;
      }
      return "";
    };
    expect(msg({ ulimits: ["nofile=x"] })).toStartWith("--ulimit: ");
    expect(msg({ uidMap: ["x"] })).toStartWith("--uidmap: ");
    expect(msg({ gidMap: ["x"], uidMap: ["0:1:1"] })).toStartWith("--gidmap: ");
    expect(msg({ securityOpt: ["x"] })).toStartWith("--security-opt: ");
  });
});
