// The classic BPF assembler under the seccomp compiler: labels, long jumps through `ja`,
// the struct sock_filter byte layout and the disassembler. No root.
import { describe, expect, test } from "bun:test";
import { Assembler, BPF, decodeFilter, disassemble, encodeFilter, type Insn } from "../../src/seccomp/bpf.ts";

/** Where a branch of instruction `pc` really ends up, following any `ja`s it was routed through. */
function land(prog: Insn[], pc: number, branch: "jt" | "jf"): number {
  let at = pc + 1 + prog[pc]![branch];
  while (prog[at]!.code === BPF.JA) at = at + 1 + prog[at]!.k;
  return at;
}

describe("seccomp bpf assembler", () => {
  test("near jumps resolve to plain offsets, omitted branches fall through", () => {
    const a = new Assembler();
    const yes = a.label();
    a.load(0);
    a.jump("jeq", 7, yes);
    a.ret(1);
    a.place(yes);
    a.ret(2);
    expect(disassemble(a.assemble())).toEqual(["ld [0]", "jeq 0x7 3 2", "ret 0x1", "ret 0x2"]);
  });

  test("a branch further than 255 instructions goes through a ja placed after the jump", () => {
    const a = new Assembler();
    const far = a.label();
    const near = a.label();
    a.load(0);
    a.jump("jgt", 5, far, near);
    a.place(near);
    for (let i = 0; i < 300; i++) a.ret(i);
    a.place(far);
    a.ret(0xabc);
    const prog = a.assemble();
    expect(prog.length).toBe(1 + 1 + 1 + 300 + 1);
    expect(prog[1]).toEqual({ code: BPF.JGT_K, jt: 0, jf: 1, k: 5 });
    expect(prog[2]!.code).toBe(BPF.JA);
    expect(prog[land(prog, 1, "jt")]).toEqual({ code: BPF.RET_K, jt: 0, jf: 0, k: 0xabc });
    expect(prog[land(prog, 1, "jf")]).toEqual({ code: BPF.RET_K, jt: 0, jf: 0, k: 0 });
  });

  test("both branches far: two ja, and fall-through still reaches the next real instruction", () => {
    const a = new Assembler();
    const t = a.label();
    const f = a.label();
    a.load(0);
    a.jump("jeq", 1, t);
    a.jump("jset", 2, t, f);
    a.ret(99);
    for (let i = 0; i < 260; i++) a.ret(i);
    a.place(t);
    a.ret(1000);
    for (let i = 0; i < 260; i++) a.ret(i);
    a.place(f);
    a.ret(2000);
    const prog = a.assemble();
    for (const insn of prog) {
      expect(insn.jt).toBeLessThanOrEqual(255);
      expect(insn.jf).toBeLessThanOrEqual(255);
    }
    expect(prog[land(prog, 1, "jt")]!.k).toBe(1000);
    expect(prog[land(prog, 1, "jf")]!.code).toBe(BPF.JSET_K);
    const jset = prog.findIndex((i) => i.code === BPF.JSET_K);
    expect(prog[land(prog, jset, "jt")]!.k).toBe(1000);
    expect(prog[land(prog, jset, "jf")]!.k).toBe(2000);
  });

  test("inserted ja's that push other jumps past 255 are fixed too", () => {
    // 200 jumps, each to a label ~250 ahead: every trampoline shifts the others.
    const a = new Assembler();
    const labels = Array.from({ length: 200 }, () => a.label());
    a.load(0);
    for (let i = 0; i < 200; i++) a.jump("jeq", i, labels[i]);
    for (let i = 0; i < 50; i++) a.ret(0);
    for (let i = 0; i < 200; i++) {
      a.place(labels[i]!);
      a.ret(10_000 + i);
    }
    const prog = a.assemble();
    let seen = 0;
    prog.forEach((insn, pc) => {
      if (insn.code !== BPF.JEQ_K) return;
      expect(prog[land(prog, pc, "jt")]!.k).toBe(10_000 + insn.k);
      seen++;
    });
    expect(seen).toBe(200);
  });

  test("misuse is a programming error", () => {
    const a = new Assembler();
    const l = a.label();
    a.place(l);
    expect(() => a.place(l)).toThrow("placed twice");
    const b = new Assembler();
    b.jump("jeq", 0, b.label());
    b.ret(0);
    expect(() => b.assemble()).toThrow("never placed");
  });

  test("struct sock_filter bytes: u16 code, u8 jt, u8 jf, u32 k, little endian", () => {
    const prog: Insn[] = [
      { code: BPF.JEQ_K, jt: 1, jf: 2, k: 0xc000003e },
      { code: BPF.RET_K, jt: 0, jf: 0, k: 0x7fff0000 },
    ];
    const bytes = encodeFilter(prog);
    expect([...bytes]).toEqual([0x15, 0, 1, 2, 0x3e, 0, 0, 0xc0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    expect(decodeFilter(bytes)).toEqual(prog);
    expect(() => decodeFilter(bytes.subarray(0, 5))).toThrow("whole number");
  });
});
