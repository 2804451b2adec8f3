// The seccomp compiler: OCI `linux.seccomp` → BPF, checked by running the program in a small
// classic BPF interpreter on synthetic seccomp_data (nr, arch, args). No root.
import { describe, expect, test } from "bun:test";
import { HuskError } from "../../src/errors.ts";
import type { LinuxSeccomp, LinuxSyscall, SeccompOperator } from "../../src/oci/types.ts";
import { ENOSYS, SECCOMP_RET } from "../../src/seccomp/actions.ts";
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from "../../src/seccomp/arches.ts";
import { BPF_MAXINSNS } from "../../src/seccomp/bpf.ts";
import { compileSeccomp, decodeFilter, disassemble, seccompFeatures, seccompWanted } from "../../src/seccomp/index.ts";
import { SYSCALLS_I386 } from "../../src/seccomp/syscalls-i386.ts";
import { SYSCALLS_X32 } from "../../src/seccomp/syscalls-x32.ts";
import { SYSCALLS_X86_64 } from "../../src/seccomp/syscalls-x86_64.ts";
import { type Data, run, verify } from "../fixtures/seccomp-bpf.ts";

const U32 = 0xffffffff;

function compile(seccomp: LinuxSeccomp, opts = {}) {
  const out = compileSeccomp(seccomp, opts);
  const prog = decodeFilter(out.filter);
  verify(prog);
  return { ...out, prog, exec: (d: Data) => run(prog, d) };
}

const nr = (name: string) => SYSCALLS_X86_64[name]!;
const i386 = (name: string) => SYSCALLS_I386[name]!;
const ALLOW = SECCOMP_RET.ALLOW;
const KILL = SECCOMP_RET.KILL_THREAD;
const errno = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = errno(1);

const allowAllBut = (syscalls: LinuxSyscall[]): LinuxSeccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls });

/** What an argument comparison means, on unsigned 64-bit values. */
const holds = (op: SeccompOperator, arg: bigint, v: bigint, v2: bigint): boolean =>
  ({
    SCMP_CMP_EQ: arg === v,
    SCMP_CMP_NE: arg !== v,
    SCMP_CMP_LT: arg < v,
    SCMP_CMP_LE: arg <= v,
    SCMP_CMP_GT: arg > v,
    SCMP_CMP_GE: arg >= v,
    SCMP_CMP_MASKED_EQ: (arg & v) === v2,
  })[op];

// ---- tests

describe("seccomp filter: layout", () => {
  test("exact program for a tiny profile", () => {
    const { prog, warnings, flags } = compile(
      allowAllBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }]),
    );
    expect(warnings).toEqual([]);
    expect(flags).toBe(0);
    // Intervals: 0…82 allow, 83 mkdir, 84…257 allow, 258 mkdirat, 259…2^30-1 allow,
    // 2^30…2^32-2 (x32, not listed) kill, -1 default; a jge tree over their starts.
    expect(disassemble(prog)).toEqual([
      "ld [4]", // seccomp_data.arch
      "jeq 0xc000003e 3 2",
      "ret 0x0", // any other arch: KILL_THREAD
      "ld [0]", // seccomp_data.nr
      "jge 0x102 10 5",
      "jge 0x53 7 6",
      "ret 0x7fff0000", // 0 … 82: ALLOW
      "jge 0x54 9 8",
      "ret 0x5000d", // 83 mkdir: ERRNO(EACCES)
      "ret 0x7fff0000",
      "jge 0x40000000 14 11",
      "jge 0x103 13 12",
      "ret 0x5000d", // 258 mkdirat
      "ret 0x7fff0000",
      "jge 0xffffffff 16 15",
      "ret 0x0", // x32 numbers without SCMP_ARCH_X32: KILL_THREAD
      "ret 0x7fff0000", // -1: the default action
    ]);
  });

  test("argument checks compare both 32-bit halves, low word at 16 + 8i", () => {
    const { prog } = compile(
      allowAllBut([{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 2 ** 32 + 5, op: "SCMP_CMP_EQ" }] }]),
    );
    const text = disassemble(prog);
    const at = text.indexOf("ld [28]");
    expect(text.slice(at, at + 6)).toEqual([
      "ld [28]",
      `jeq 0x1 ${at + 2} ${at + 5}`,
      "ld [24]",
      `jeq 0x5 ${at + 4} ${at + 5}`,
      "ret 0x50001",
      "ret 0x7fff0000",
    ]);
  });

  test("i386 gets its own section when SCMP_ARCH_X86 is listed", () => {
    const { prog } = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] });
    expect(disassemble(prog).slice(0, 4)).toEqual(["ld [4]", "jeq 0xc000003e 4 2", "jeq 0x40000003 10 3", "ret 0x0"]);
  });
});

describe("seccomp filter: actions", () => {
  test("default action, allowed, errno with errnoRet, defaultErrnoRet", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 5,
      syscalls: [
        { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["rmdir"], action: "SCMP_ACT_ERRNO" },
      ],
    });
    expect(f.exec({ nr: nr("read") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("write") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("exit_group") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("mkdir") })).toBe(errno(13));
    expect(f.exec({ nr: nr("rmdir") })).toBe(EPERM);
    expect(f.exec({ nr: nr("open") })).toBe(errno(5));
    expect(f.exec({ nr: nr("mount") })).toBe(errno(5));
  });

  test("every action's return value", () => {
    const cases: [LinuxSyscall["action"], number | undefined, number][] = [
      ["SCMP_ACT_KILL", undefined, SECCOMP_RET.KILL_THREAD],
      ["SCMP_ACT_KILL_THREAD", undefined, SECCOMP_RET.KILL_THREAD],
      ["SCMP_ACT_KILL_PROCESS", undefined, SECCOMP_RET.KILL_PROCESS],
      ["SCMP_ACT_TRAP", undefined, SECCOMP_RET.TRAP],
      ["SCMP_ACT_ERRNO", undefined, errno(1)],
      ["SCMP_ACT_ERRNO", 0, errno(0)],
      ["SCMP_ACT_ERRNO", 4095, errno(4095)],
      ["SCMP_ACT_TRACE", undefined, SECCOMP_RET.TRACE | 1],
      ["SCMP_ACT_TRACE", 77, SECCOMP_RET.TRACE | 77],
      ["SCMP_ACT_LOG", undefined, SECCOMP_RET.LOG],
    ];
    for (const [action, errnoRet, want] of cases) {
      const f = compile(allowAllBut([{ names: ["getpid"], action, errnoRet }]));
      expect(f.exec({ nr: nr("getpid") })).toBe(want >>> 0);
      expect(f.exec({ nr: nr("getppid") })).toBe(ALLOW);
    }
    const f = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] });
    expect(f.exec({ nr: nr("getppid") })).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  test("a rule with the default action is dropped, as runc does, and shadows nothing", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["getpid"], action: "SCMP_ACT_ERRNO" }, // = default (EPERM)
        { names: ["getpid"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
        { names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 2 }, // not the default: ENOENT
      ],
    });
    expect(f.exec({ nr: nr("getpid") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("getpid"), args: [1] })).toBe(EPERM);
    expect(f.exec({ nr: nr("getppid") })).toBe(errno(2));
  });

  test("flags", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
      ],
    });
    expect(f.flags).toBe(1 | 2 | 4);
    expect(f.warnings).toEqual([
      "linux.seccomp.flags[3]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: it only applies to a seccomp listener (no SCMP_ACT_NOTIFY rule)",
    ]);
  });
});

describe("seccomp filter: arguments", () => {
  const HI = 2n ** 32n;
  const values = [0n, 1n, 5n, 0x7fffffffn, 0xffffffffn, HI, HI + 5n, 3n * HI + 7n, 2n ** 63n, 2n ** 64n - 1n];

  for (const op of ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"] as const) {
    test(`${op} on 64-bit values, high words included`, () => {
      for (const v of values) {
        // JSON numbers: values above 2^53 come in rounded; the test passes bigints to see all 64 bits.
        const f = compile(
          allowAllBut([{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 3, value: v as unknown as number, op }] }]),
        );
        for (const arg of [...values, v - 1n, v + 1n, v + HI, v - HI, v ^ HI]) {
          const a = BigInt.asUintN(64, arg);
          const want = holds(op, a, v, 0n) ? EPERM : ALLOW;
          expect([op, v, a, f.exec({ nr: nr("ioctl"), args: [0, 0, 0, a] })]).toEqual([op, v, a, want]);
        }
      }
    });
  }

  test("SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo, on both halves", () => {
    const masks: [bigint, bigint][] = [
      [0x7e020000n, 0n], // docker's clone rule
      [0xffn, 0x10n],
      [HI * 0xfn, HI * 3n],
      [HI * 0xf0n + 0xfn, HI * 0x10n + 1n],
      [0n, 0n],
    ];
    for (const [mask, datum] of masks) {
      const f = compile(
        allowAllBut([
          {
            names: ["clone"],
            action: "SCMP_ACT_ERRNO",
            args: [
              { index: 0, value: mask as unknown as number, valueTwo: datum as unknown as number, op: "SCMP_CMP_MASKED_EQ" },
            ],
          },
        ]),
      );
      for (const arg of [
        0n,
        datum,
        datum | 0x100n,
        datum | HI,
        mask,
        ~mask & (2n ** 64n - 1n),
        0x10000000n,
        0x11n,
        HI * 3n + 9n,
        HI * 0x13n + 1n,
      ]) {
        expect([mask, arg, f.exec({ nr: nr("clone"), args: [arg] })]).toEqual([
          mask,
          arg,
          holds("SCMP_CMP_MASKED_EQ", arg, mask, datum) ? EPERM : ALLOW,
        ]);
      }
    }
  });

  test("args within one rule are ANDed", () => {
    const f = compile(
      allowAllBut([
        {
          names: ["mmap"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 2, value: 4, valueTwo: 4, op: "SCMP_CMP_MASKED_EQ" }, // PROT_EXEC
            { index: 3, value: 0x20, op: "SCMP_CMP_EQ" },
            { index: 5, value: 10, op: "SCMP_CMP_LT" },
          ],
        },
      ]),
    );
    expect(f.exec({ nr: nr("mmap"), args: [0, 0, 5, 0x20, 0, 9] })).toBe(EPERM);
    expect(f.exec({ nr: nr("mmap"), args: [0, 0, 3, 0x20, 0, 9] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("mmap"), args: [0, 0, 5, 0x22, 0, 9] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("mmap"), args: [0, 0, 5, 0x20, 0, 10] })).toBe(ALLOW);
  });

  test("one argument index twice: each condition becomes its own rule (ORed), as in runc", () => {
    const f = compile(
      allowAllBut([
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 1, value: 9, op: "SCMP_CMP_EQ" },
            { index: 1, value: 15, op: "SCMP_CMP_EQ" },
          ],
        },
      ]),
    );
    expect(f.exec({ nr: nr("kill"), args: [1, 9] })).toBe(EPERM);
    expect(f.exec({ nr: nr("kill"), args: [1, 15] })).toBe(EPERM);
    expect(f.exec({ nr: nr("kill"), args: [1, 2] })).toBe(ALLOW);
  });

  test("rules of one syscall: spec order, first match wins; no match → default", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 8, op: "SCMP_CMP_GE" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] },
      ],
    });
    expect(f.exec({ nr: nr("personality"), args: [8] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("personality"), args: [9] })).toBe(errno(22));
    expect(f.exec({ nr: nr("personality"), args: [0xffffffff] })).toBe(errno(22)); // rule 2 comes first
    expect(f.exec({ nr: nr("personality"), args: [3] })).toBe(EPERM);
  });

  test("an unconditional rule beats conditional ones, whatever the order (libseccomp)", () => {
    for (const uncondFirst of [true, false]) {
      const cond: LinuxSyscall = { names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 3, op: "SCMP_CMP_EQ" }] };
      const uncond: LinuxSyscall = { names: ["dup"], action: "SCMP_ACT_LOG" };
      const later: LinuxSyscall = { names: ["dup"], action: "SCMP_ACT_TRAP" };
      const f = compile(allowAllBut(uncondFirst ? [uncond, cond, later] : [cond, uncond, later]));
      expect(f.exec({ nr: nr("dup"), args: [3] })).toBe(SECCOMP_RET.LOG);
      expect(f.exec({ nr: nr("dup"), args: [4] })).toBe(SECCOMP_RET.LOG);
    }
  });
});

describe("seccomp filter: architectures", () => {
  const aarch64 = 0xc00000b7;

  test("an arch not in the filter gets KILL_THREAD", () => {
    const f = compile(allowAllBut([]));
    expect(f.exec({ nr: 0 })).toBe(ALLOW);
    expect(f.exec({ nr: 0, arch: AUDIT_ARCH_I386 })).toBe(KILL);
    expect(f.exec({ nr: 0, arch: aarch64 })).toBe(KILL);
  });

  test("x32 numbers (bit 30) without SCMP_ARCH_X32: KILL_THREAD, except -1, which gets the default", () => {
    const f = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] });
    expect(f.exec({ nr: 0 })).toBe(ALLOW);
    expect(f.exec({ nr: X32_SYSCALL_BIT })).toBe(KILL);
    expect(f.exec({ nr: X32_SYSCALL_BIT | 39 })).toBe(KILL);
    expect(f.exec({ nr: 0xfffffffe })).toBe(KILL);
    expect(f.exec({ nr: U32 })).toBe(EPERM);
  });

  test("SCMP_ARCH_X32: x32 numbers with their own rules, args compared on the low word", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
      syscalls: [
        { names: ["read", "preadv"], action: "SCMP_ACT_ALLOW" },
        { names: ["write"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2 ** 32 + 1, op: "SCMP_CMP_EQ" }] },
      ],
    });
    expect(f.exec({ nr: X32_SYSCALL_BIT | 0 })).toBe(ALLOW);
    expect(f.exec({ nr: X32_SYSCALL_BIT | 534 })).toBe(ALLOW); // x32 preadv
    expect(f.exec({ nr: nr("preadv") })).toBe(ALLOW);
    expect(f.exec({ nr: X32_SYSCALL_BIT | 2 })).toBe(EPERM); // open
    expect(f.exec({ nr: X32_SYSCALL_BIT | 1, args: [1] })).toBe(ALLOW); // low word only
    expect(f.exec({ nr: 1, args: [1] })).toBe(EPERM); // x86_64: all 64 bits
    expect(f.exec({ nr: 1, args: [2 ** 32 + 1] })).toBe(ALLOW);
  });

  test("SCMP_ARCH_X86: i386 numbers, args compared on the low word", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["read", "socketcall", "uretprobe"], action: "SCMP_ACT_ALLOW" },
        { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 2 ** 32 + 9, op: "SCMP_CMP_EQ" }] },
      ],
    });
    expect(f.warnings).toEqual([]); // socketcall is i386-only, uretprobe x86_64-only: both known
    expect(f.exec({ nr: i386("read"), arch: AUDIT_ARCH_I386 })).toBe(ALLOW);
    expect(f.exec({ nr: 102, arch: AUDIT_ARCH_I386 })).toBe(ALLOW); // socketcall
    expect(f.exec({ nr: nr("read") })).toBe(ALLOW);
    expect(f.exec({ nr: 102 })).toBe(EPERM); // x86_64 102 is getuid
    expect(f.exec({ nr: i386("kill"), arch: AUDIT_ARCH_I386, args: [1, 9] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("kill"), args: [1, 9] })).toBe(EPERM);
    expect(f.exec({ nr: i386("write"), arch: AUDIT_ARCH_I386 })).toBe(EPERM);
  });

  test("other architectures are ignored with a warning", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    });
    expect(f.warnings).toEqual([
      "linux.seccomp.architectures: SCMP_ARCH_AARCH64, SCMP_ARCH_ARM ignored: an x86_64 kernel never runs them",
    ]);
    expect(f.exec({ nr: 0, arch: aarch64 })).toBe(KILL);
  });
});

describe("seccomp filter: runc's -ENOSYS for syscalls newer than the profile", () => {
  const profile = (extra: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{ names: ["read", "openat", "close"], action: "SCMP_ACT_ALLOW" }],
    ...extra,
  });

  test("numbers above the highest named one return ENOSYS, per ABI; -1 gets the default", () => {
    const f = compile(profile());
    expect(f.exec({ nr: nr("openat") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("mount") })).toBe(EPERM); // 165 < openat 257
    expect(f.exec({ nr: nr("clone3") })).toBe(errno(ENOSYS));
    expect(f.exec({ nr: 1000 })).toBe(errno(ENOSYS));
    expect(f.exec({ nr: X32_SYSCALL_BIT | 258 })).toBe(errno(ENOSYS));
    expect(f.exec({ nr: X32_SYSCALL_BIT | 200 })).toBe(EPERM);
    expect(f.exec({ nr: i386("openat"), arch: AUDIT_ARCH_I386 })).toBe(ALLOW);
    expect(f.exec({ nr: i386("openat") + 1, arch: AUDIT_ARCH_I386 })).toBe(errno(ENOSYS));
    expect(f.exec({ nr: U32 })).toBe(EPERM);
    expect(f.exec({ nr: U32, arch: AUDIT_ARCH_I386 })).toBe(EPERM);
  });

  test("not with a permissive default, ERRNO(ENOSYS) default, unlisted ABIs, or when turned off", () => {
    expect(compile(profile({ defaultAction: "SCMP_ACT_LOG" })).exec({ nr: 1000 })).toBe(SECCOMP_RET.LOG);
    expect(compile(profile({ defaultAction: "SCMP_ACT_TRACE" })).exec({ nr: 1000 })).toBe(SECCOMP_RET.TRACE | 1);
    expect(compile(profile({ defaultErrnoRet: ENOSYS })).exec({ nr: 1000 })).toBe(errno(ENOSYS));
    expect(compile(profile({ defaultErrnoRet: 3 })).exec({ nr: 1000 })).toBe(errno(ENOSYS));
    expect(compile(profile({ architectures: undefined })).exec({ nr: 1000 })).toBe(EPERM);
    expect(compile(profile(), { enosysStub: false }).exec({ nr: 1000 })).toBe(EPERM);
    expect(compile(profile({ defaultAction: "SCMP_ACT_KILL_PROCESS" })).exec({ nr: 1000 })).toBe(errno(ENOSYS));
  });
});

describe("seccomp filter: warnings and errors", () => {
  const origin = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(HuskError);
      return (err as HuskError).origin;
    }
    throw new Error("no error");
  };

  test("unknown syscall names are skipped with a warning", () => {
    const f = compile(allowAllBut([{ names: ["getpid", "no_such_call", "socketcall"], action: "SCMP_ACT_ERRNO" }]));
    expect(f.warnings).toEqual([
      'linux.seccomp.syscalls[0].names: skipped "no_such_call", "socketcall": no such syscall on SCMP_ARCH_X86_64',
    ]);
    expect(f.exec({ nr: nr("getpid") })).toBe(EPERM);
    // Names are looked up as own properties only.
    expect(compile(allowAllBut([{ names: ["toString", "constructor"], action: "SCMP_ACT_ERRNO" }])).warnings).toHaveLength(1);
  });

  test("ignored fields are named", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      defaultErrnoRet: 3,
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_KILL", errnoRet: 3 }],
    });
    expect(f.warnings).toEqual([
      "linux.seccomp.defaultErrnoRet ignored: SCMP_ACT_ALLOW takes no errno",
      "linux.seccomp.listenerPath/listenerMetadata ignored: no syscall is notified (SCMP_ACT_NOTIFY)",
      "linux.seccomp.syscalls[0].errnoRet ignored: SCMP_ACT_KILL takes no errno",
    ]);
  });

  test("SCMP_ACT_NOTIFY needs an agent, gets a listener, and may not stop the handover", () => {
    expect(() => compileSeccomp(allowAllBut([{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }]))).toThrow(
      "seccomp (linux.seccomp.listenerPath): SCMP_ACT_NOTIFY needs a seccomp agent: set linux.seccomp.listenerPath",
    );
    expect(origin(() => compileSeccomp({ defaultAction: "SCMP_ACT_NOTIFY" }))).toBe("linux.seccomp.listenerPath");
    const withAgent = (s: LinuxSeccomp): LinuxSeccomp => ({ ...s, listenerPath: "/run/agent.sock" });
    const f = compileSeccomp(
      withAgent({
        ...allowAllBut([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }]),
        flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      }),
    );
    // NEW_LISTENER (8) is added; the listener-only flag now applies.
    expect(f.flags).toBe(8 | 32);
    expect(f.warnings).toEqual([]);
    // sendmsg hands the listener over: it cannot be notified itself, nor fall to a notifying default.
    expect(() => compileSeccomp(withAgent(allowAllBut([{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }])))).toThrow(
      "SCMP_ACT_NOTIFY cannot apply to sendmsg",
    );
    expect(() => compileSeccomp(withAgent({ defaultAction: "SCMP_ACT_NOTIFY" }))).toThrow("cannot apply to sendmsg");
    expect(
      compileSeccomp(
        withAgent({ defaultAction: "SCMP_ACT_NOTIFY", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_ALLOW" }] }),
      ).flags,
    ).toBe(8);
  });

  test("invalid input", () => {
    expect(origin(() => compileSeccomp({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }))).toBe(
      "linux.seccomp.defaultAction",
    );
    expect(origin(() => compileSeccomp(allowAllBut([{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 70000 }])))).toBe(
      "linux.seccomp.syscalls[0].errnoRet",
    );
    expect(
      origin(() =>
        compileSeccomp(
          allowAllBut([{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }]),
        ),
      ),
    ).toBe("linux.seccomp.syscalls[0].args[0].index");
    expect(
      origin(() =>
        compileSeccomp(
          allowAllBut([{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1.5, op: "SCMP_CMP_EQ" }] }]),
        ),
      ),
    ).toBe("linux.seccomp.syscalls[0].args[0].value");
    expect(origin(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_BOGUS" as never] }))).toBe(
      "linux.seccomp.flags[0]",
    );
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "aarch64" as never })).toThrow(
      "only be built for x86_64",
    );
  });

  test("2^64-1 arrives from JSON as 2^64 and means 2^64-1", () => {
    const f = compile(
      allowAllBut([{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 64, op: "SCMP_CMP_EQ" }] }]),
    );
    expect(f.exec({ nr: 0, args: [2n ** 64n - 1n] })).toBe(EPERM);
    expect(f.exec({ nr: 0, args: [0xffffffffn] })).toBe(ALLOW);
  });

  test("a program over 4096 instructions is refused", () => {
    const syscalls: LinuxSyscall[] = Array.from({ length: 1000 }, (_, i) => ({
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO",
      args: [{ index: 1, value: i, op: "SCMP_CMP_EQ" }],
    }));
    expect(origin(() => compileSeccomp(allowAllBut(syscalls)))).toBe("linux.seccomp.syscalls");
    expect(() => compileSeccomp(allowAllBut(syscalls))).toThrow("the kernel allows at most 4096");
  });
});

// ---- the compiled program against the profile's meaning, on random profiles

/**
 * What the kernel must answer for each seccomp_data under `seccomp`, read from the OCI profile
 * itself with runc's and libseccomp's rules, written out here independently of src/seccomp
 * (only the kernel's syscall tables are shared):
 *   - x86_64 is always filtered; x32 numbers (bit 30) and i386 calls only when listed, else
 *     KILL_THREAD; any other arch KILL_THREAD; nr -1 is an x86_64 call matching no syscall;
 *   - an entry whose action equals the default action is dropped;
 *   - an entry's args are ANDed, unless one index repeats: then each is a rule of its own;
 *   - per syscall, the first unconditional rule wins over everything; otherwise rules are
 *     tried in spec order, the first that matches decides, else the default;
 *   - 32-bit ABIs compare the low 32 bits of arguments and operands;
 *   - runc's ENOSYS stub: unless the default is ALLOW, LOG, TRACE or ERRNO(ENOSYS), numbers
 *     above the highest one the profile names (per ABI listed in `architectures`) get ENOSYS.
 */
function meaning(seccomp: LinuxSeccomp): (d: Data) => number {
  const RET: Record<string, number> = {
    SCMP_ACT_KILL: 0,
    SCMP_ACT_KILL_THREAD: 0,
    SCMP_ACT_KILL_PROCESS: 0x80000000,
    SCMP_ACT_TRAP: 0x00030000,
    SCMP_ACT_ERRNO: 0x00050000,
    SCMP_ACT_NOTIFY: 0x7fc00000,
    SCMP_ACT_TRACE: 0x7ff00000,
    SCMP_ACT_LOG: 0x7ffc0000,
    SCMP_ACT_ALLOW: 0x7fff0000,
  };
  const ret = (action: string, errnoRet?: number) =>
    (RET[action]! | (action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE" ? (errnoRet ?? 1) : 0)) >>> 0;
  const killThread = 0;
  const enosys = ret("SCMP_ACT_ERRNO", 38);
  const listed = new Set<string>(seccomp.architectures ?? []);
  const defaultRet = ret(seccomp.defaultAction!, seccomp.defaultErrnoRet);
  const letsThrough = ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(seccomp.defaultAction!);
  const u64 = (v: unknown) => BigInt.asUintN(64, BigInt(v as bigint));

  type Check = { index: number; op: SeccompOperator; value: bigint; valueTwo: bigint };
  interface Abi {
    wide: boolean;
    /** Per syscall number, the rules of the entries naming it, in spec order. */
    rules: Map<number, { checks: Check[]; ret: number }[]>;
    /** The ENOSYS stub's limit, or undefined when the stub does not apply. */
    stubAbove?: number;
  }
  const abi = (table: Readonly<Record<string, number>>, base: number, wide: boolean, arch: string): Abi => {
    const rules = new Map<number, { checks: Check[]; ret: number }[]>();
    let highest = -1;
    for (const sc of seccomp.syscalls ?? []) {
      const numbers = new Set(sc.names.filter((n) => Object.hasOwn(table, n)).map((n) => base + table[n]!));
      for (const n of numbers) highest = Math.max(highest, n);
      const r = ret(sc.action, sc.errnoRet);
      if (r === defaultRet) continue;
      const checks = (sc.args ?? []).map((a) => ({
        index: a.index,
        op: a.op,
        value: u64(a.value),
        valueTwo: u64(a.valueTwo ?? 0),
      }));
      const own =
        new Set(checks.map((c) => c.index)).size === checks.length
          ? [{ checks, ret: r }]
          : checks.map((c) => ({ checks: [c], ret: r }));
      for (const n of numbers) rules.set(n, [...(rules.get(n) ?? []), ...own]);
    }
    const stub = !letsThrough && defaultRet !== enosys && listed.has(arch) && highest >= 0;
    return { wide, rules, stubAbove: stub ? highest : undefined };
  };
  const x86_64 = abi(SYSCALLS_X86_64, 0, true, "SCMP_ARCH_X86_64");
  const x32 = listed.has("SCMP_ARCH_X32") ? abi(SYSCALLS_X32, 0x40000000, false, "SCMP_ARCH_X32") : undefined;
  const i386 = listed.has("SCMP_ARCH_X86") ? abi(SYSCALLS_I386, 0, false, "SCMP_ARCH_X86") : undefined;

  return (d) => {
    const arch = d.arch ?? 0xc000003e;
    const nrU = d.nr >>> 0;
    const a =
      arch === 0xc000003e ? (nrU < 0x40000000 || nrU === 0xffffffff ? x86_64 : x32) : arch === 0x40000003 ? i386 : undefined;
    if (!a) return killThread;
    const rules = a.rules.get(nrU);
    if (rules) {
      const unconditional = rules.find((r) => r.checks.length === 0);
      if (unconditional) return unconditional.ret;
      const narrow = (v: bigint) => (a.wide ? v : v & 0xffffffffn);
      const arg = (i: number) => narrow(BigInt.asUintN(64, BigInt(d.args?.[i] ?? 0)));
      const match = rules.find((r) => r.checks.every((c) => holds(c.op, arg(c.index), narrow(c.value), narrow(c.valueTwo))));
      return match ? match.ret : defaultRet;
    }
    if (a.stubAbove !== undefined && nrU !== 0xffffffff && nrU > a.stubAbove) return enosys;
    return defaultRet;
  };
}

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const u64 = (): bigint => {
    const special = [0n, 1n, 0xffffffffn, 1n << 32n, (1n << 64n) - 1n, 1n << 63n];
    if (next() < 0.3) return pick(special);
    return (BigInt(int(2 ** 32)) << 32n) * BigInt(int(3)) + BigInt(int(2 ** 32)); // high word 0, or random
  };
  return { next, int, pick, u64 };
}

describe("seccomp filter: the compiled program does what random profiles say", () => {
  const names = Object.keys(SYSCALLS_X86_64);
  const ops: SeccompOperator[] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
    "SCMP_CMP_MASKED_EQ",
  ];
  const actions: LinuxSyscall["action"][] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
  ];

  for (let seed = 1; seed <= 40; seed++) {
    test(`seed ${seed}`, () => {
      const r = rng(seed);
      const syscalls: LinuxSyscall[] = [];
      const count = seed % 5 === 0 ? 400 : 1 + r.int(60);
      for (let i = 0; i < count; i++) {
        const withArgs = r.next() < 0.3;
        syscalls.push({
          names: Array.from({ length: 1 + r.int(4) }, () => r.pick(names)),
          action: r.pick(actions),
          errnoRet: r.next() < 0.5 ? r.int(200) : undefined,
          args: withArgs
            ? Array.from({ length: 1 + r.int(3) }, () => ({
                index: r.int(6),
                op: r.pick(ops),
                value: r.u64() as unknown as number,
                valueTwo: r.u64() as unknown as number,
              }))
            : undefined,
        });
      }
      const seccomp: LinuxSeccomp = {
        defaultAction: r.pick(["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL"] as const),
        architectures: r
          .pick([
            undefined,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            ["SCMP_ARCH_X32"],
            ["SCMP_ARCH_X86"],
          ] as const)
          ?.slice(),
        syscalls,
      };
      const { prog } = compile(seccomp);
      const want = meaning(seccomp);
      const probeArgs = (): bigint[] => {
        // Mostly values taken from the rules (and their neighbours), so checks both pass and fail.
        const pool = syscalls
          .flatMap((s) => (s.args ?? []).flatMap((a) => [a.value, a.valueTwo ?? 0]))
          .map((v) => BigInt(v as unknown as bigint));
        return Array.from({ length: 6 }, () => {
          if (!pool.length || r.next() < 0.3) return r.u64();
          const v = r.pick(pool);
          return BigInt.asUintN(64, v + BigInt(r.int(3) - 1));
        });
      };
      const arches = [AUDIT_ARCH_X86_64, AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xc00000b7];
      for (let i = 0; i < 3000; i++) {
        const arch = r.pick(arches);
        const base = r.next() < 0.2 && arch === AUDIT_ARCH_X86_64 ? X32_SYSCALL_BIT : 0;
        const nrv = r.next() < 0.02 ? U32 : base + (r.next() < 0.9 ? r.int(480) : r.int(2 ** 30));
        const d: Data = { nr: nrv, arch, args: probeArgs() };
        const got = run(prog, d);
        if (got !== want(d)) expect({ d, got }).toEqual({ d, got: want(d) });
      }
    });
  }
});

// ---- a Docker-like default profile

/** Docker's default allow-list, as in moby's profiles/seccomp/default.json (x86 family), abridged. */
const DOCKER_ALLOWED = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd
getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set
io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat
lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod
mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd
msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2
pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64
pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64
recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync
sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask
uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
write writev
`
  .trim()
  .split(/\s+/);

const CLONE_NAMESPACE_FLAGS = 0x7e020000; // CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET

const DOCKER_PROFILE: LinuxSeccomp = {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 1,
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [
    { names: DOCKER_ALLOWED, action: "SCMP_ACT_ALLOW" },
    ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map(
      (persona): LinuxSyscall => ({
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: persona, op: "SCMP_CMP_EQ" }],
      }),
    ),
    { names: ["arch_prctl", "modify_ldt"], action: "SCMP_ACT_ALLOW" },
    { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, op: "SCMP_CMP_NE" }] }, // no AF_VSOCK
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    // Names for other architectures, skipped on x86.
    {
      names: ["arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "s390_pci_mmio_read"],
      action: "SCMP_ACT_ALLOW",
    },
  ],
};

describe("seccomp filter: a Docker-like default profile", () => {
  test("compiles well under 4096 instructions", () => {
    expect(DOCKER_ALLOWED.length).toBeGreaterThan(300);
    const f = compile(DOCKER_PROFILE);
    expect(f.prog.length).toBeLessThan(1000);
    expect(f.warnings).toEqual([
      'linux.seccomp.syscalls[0].names: skipped "recv", "send": no such syscall on SCMP_ARCH_X86_64/SCMP_ARCH_X86/SCMP_ARCH_X32',
      'linux.seccomp.syscalls[10].names: skipped "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "s390_pci_mmio_read": no such syscall on SCMP_ARCH_X86_64/SCMP_ARCH_X86/SCMP_ARCH_X32',
    ]);
  });

  test("behaves like Docker's profile", () => {
    const f = compile(DOCKER_PROFILE);
    expect(f.exec({ nr: nr("read") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("execve") })).toBe(ALLOW);
    expect(f.exec({ nr: nr("mount") })).toBe(EPERM);
    expect(f.exec({ nr: nr("reboot") })).toBe(EPERM);
    expect(f.exec({ nr: nr("unshare") })).toBe(EPERM);
    expect(f.exec({ nr: nr("personality"), args: [8] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("personality"), args: [0xffffffff] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("personality"), args: [0x0400000] })).toBe(EPERM); // READ_IMPLIES_EXEC
    expect(f.exec({ nr: nr("clone"), args: [0x3d0f00] })).toBe(ALLOW); // pthread_create's flags
    expect(f.exec({ nr: nr("clone"), args: [0x01200011] })).toBe(ALLOW); // fork
    expect(f.exec({ nr: nr("clone"), args: [0x10000000 | 17] })).toBe(EPERM); // CLONE_NEWUSER
    expect(f.exec({ nr: nr("clone3") })).toBe(errno(ENOSYS));
    expect(f.exec({ nr: nr("socket"), args: [2] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("socket"), args: [40] })).toBe(EPERM);
    expect(f.exec({ nr: nr("listmount") })).toBe(errno(ENOSYS)); // newer than anything the profile names
    expect(f.exec({ nr: i386("read"), arch: AUDIT_ARCH_I386 })).toBe(ALLOW);
    expect(f.exec({ nr: 102, arch: AUDIT_ARCH_I386 })).toBe(ALLOW); // socketcall
    expect(f.exec({ nr: i386("mount"), arch: AUDIT_ARCH_I386 })).toBe(EPERM);
    expect(f.exec({ nr: X32_SYSCALL_BIT | 0 })).toBe(ALLOW);
    expect(f.exec({ nr: X32_SYSCALL_BIT | nr("mount") })).toBe(EPERM);
    expect(f.exec({ nr: U32 })).toBe(EPERM);
    expect(f.exec({ nr: 0, arch: 0xc00000b7 })).toBe(KILL);
  });

  test("with a distinct argument rule on every syscall it still fits, through long jumps", () => {
    const syscalls = DOCKER_ALLOWED.map(
      (name, i): LinuxSyscall => ({
        names: [name],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2 ** 40 + i, op: "SCMP_CMP_LT" }],
      }),
    );
    const f = compile({ ...DOCKER_PROFILE, architectures: ["SCMP_ARCH_X86_64"], syscalls });
    expect(f.prog.length).toBeGreaterThan(2000);
    expect(f.prog.length).toBeLessThan(BPF_MAXINSNS);
    const w = DOCKER_ALLOWED.indexOf("write");
    expect(f.exec({ nr: nr("write"), args: [1] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("write"), args: [2 ** 40 + w - 1] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("write"), args: [2 ** 40 + w] })).toBe(EPERM);
    expect(f.exec({ nr: nr("writev"), args: [3] })).toBe(ALLOW);
    expect(f.exec({ nr: nr("accept"), args: [2 ** 41] })).toBe(EPERM);
    expect(f.exec({ nr: nr("mount") })).toBe(EPERM);
  });

  test("syscalls with the same rules share one chain", () => {
    const syscalls = DOCKER_ALLOWED.map(
      (name): LinuxSyscall => ({
        names: [name],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2 ** 40, op: "SCMP_CMP_LT" }],
      }),
    );
    const f = compile({ ...DOCKER_PROFILE, syscalls });
    expect(f.prog.length).toBeLessThan(1000);
    expect(f.exec({ nr: nr("write"), args: [2 ** 41] })).toBe(EPERM);
    expect(f.exec({ nr: nr("write"), args: [1] })).toBe(ALLOW);
    // i386 compares low words only (as libseccomp does): arg < low word of 2^40, which is 0, never holds.
    expect(f.exec({ nr: i386("write"), arch: AUDIT_ARCH_I386, args: [1] })).toBe(EPERM);
  });
});

test("seccompWanted: no defaultAction and no syscalls means no filter, as in runc", () => {
  expect(seccompWanted(undefined)).toBe(false);
  expect(seccompWanted({})).toBe(false);
  expect(seccompWanted({ syscalls: [], architectures: ["SCMP_ARCH_X86_64"] })).toBe(false);
  expect(seccompWanted({ defaultAction: "SCMP_ACT_ALLOW" })).toBe(true);
  expect(seccompWanted({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] })).toBe(true); // then compile refuses it
});

test("seccompFeatures: runc's features.json shape", () => {
  expect(seccompFeatures()).toEqual({
    enabled: true,
    actions: [
      "SCMP_ACT_ALLOW",
      "SCMP_ACT_ERRNO",
      "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",
      "SCMP_ACT_TRACE",
      "SCMP_ACT_TRAP",
    ],
    operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
    archs: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
    knownFlags: [
      "SECCOMP_FILTER_FLAG_TSYNC",
      "SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ],
    supportedFlags: [
      "SECCOMP_FILTER_FLAG_TSYNC",
      "SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ],
  });
});
