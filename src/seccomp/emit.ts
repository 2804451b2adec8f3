/**
 * Policy → BPF. The program's shape:
 *
 *     ld [arch]                           seccomp_data.arch
 *     jeq AUDIT_ARCH_X86_64 → x86_64
 *     jeq AUDIT_ARCH_I386   → i386        (only when SCMP_ARCH_X86 is listed)
 *     ret KILL_THREAD                     libseccomp's "bad arch" action
 *   x86_64: ld [nr]; <search tree>        x86_64 numbers, and x32 numbers (bit 30 set) if listed
 *   i386:   ld [nr]; <search tree>
 *
 * Each ABI's 2^32 syscall numbers are cut into intervals, each with one handler: a return
 * value, or the rules of one syscall. Runs of numbers that return the same thing merge (an
 * allow-list of 350 syscalls becomes a few dozen intervals), and a balanced tree of `jge`
 * finds the interval in log2(intervals) jumps. Numbers with x32's bit set on an x86_64 filter
 * without x32 get libseccomp's bad-arch KILL_THREAD, except -1 (what a tracer sets to skip a
 * call), which gets the default action.
 *
 * A syscall with argument rules has a `ja` as its leaf, to its rule chain after the tree
 * (syscalls with identical rules share one chain, and neighbours one leaf). The rules are
 * tried in order; a rule's checks load one 32-bit half of an argument at a time
 * (seccomp_data.args[i] at 16 + 8i, low word first) and jump to the next rule as soon as one
 * fails; after the last rule comes the default action.
 */
import { ENOSYS, SECCOMP_RET } from "./actions.ts";
import { type Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from "./arches.ts";
import { Assembler, type Insn, type Label } from "./bpf.ts";
import type { ArgCheck, Policy, Rule } from "./policy.ts";

const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const argLow = (index: number) => 16 + 8 * index;
const argHigh = (index: number) => 20 + 8 * index;

const U32_MAX = 0xffffffff;
const BAD_ARCH = SECCOMP_RET.KILL_THREAD;
const RET_ENOSYS = (SECCOMP_RET.ERRNO | ENOSYS) >>> 0;

type Handler = { ret: number } | { rules: Rule[]; wide: boolean; key: string };

interface Interval {
  lo: number;
  hi: number;
  handler: Handler;
}

const sameHandler = (a: Handler, b: Handler) => ("ret" in a ? "ret" in b && a.ret === b.ret : "key" in b && a.key === b.key);

const rulesKey = (rules: Rule[], wide: boolean) =>
  JSON.stringify({ rules, wide }, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/**
 * Split `base` (sorted intervals covering 0 … 2^32-1) at each syscall of `points`, merging
 * neighbours that return the same value or run the same rules.
 */
function cut(base: Interval[], points: Map<number, Handler>): Interval[] {
  const nrs = [...points.keys()].sort((a, b) => a - b);
  const out: Interval[] = [];
  const push = (iv: Interval) => {
    const last = out[out.length - 1];
    if (last && last.hi + 1 === iv.lo && sameHandler(last.handler, iv.handler)) last.hi = iv.hi;
    else out.push({ ...iv });
  };
  let p = 0;
  for (const seg of base) {
    let lo = seg.lo;
    while (p < nrs.length && nrs[p]! <= seg.hi) {
      const nr = nrs[p++]!;
      if (nr > lo) push({ lo, hi: nr - 1, handler: seg.handler });
      push({ lo: nr, hi: nr, handler: points.get(nr)! });
      lo = nr + 1;
    }
    if (lo <= seg.hi) push({ lo, hi: seg.hi, handler: seg.handler });
  }
  return out;
}

/** Default action for [lo, hi], or ENOSYS above the ABI's last named syscall. */
function span(lo: number, hi: number, policy: Policy, abi: Abi): Interval[] {
  const def = { ret: policy.defaultRet };
  const last = policy.enosysAbove.get(abi);
  if (last === undefined || last >= hi) return [{ lo, hi, handler: def }];
  const out: Interval[] = [];
  if (last >= lo) out.push({ lo, hi: last, handler: def });
  out.push({ lo: Math.max(lo, last + 1), hi, handler: { ret: RET_ENOSYS } });
  return out;
}

function sectionIntervals(policy: Policy, abis: Abi[]): Interval[] {
  const def = { ret: policy.defaultRet };
  const native = abis.find((a) => a.audit === AUDIT_ARCH_X86_64 && a.nrBase === 0);
  const x32 = abis.find((a) => a.nrBase === X32_SYSCALL_BIT);
  let base: Interval[];
  if (native) {
    base = [
      ...span(0, X32_SYSCALL_BIT - 1, policy, native),
      ...(x32
        ? span(X32_SYSCALL_BIT, U32_MAX - 1, policy, x32)
        : [{ lo: X32_SYSCALL_BIT, hi: U32_MAX - 1, handler: { ret: BAD_ARCH } }]),
      { lo: U32_MAX, hi: U32_MAX, handler: def },
    ];
  } else {
    base = [...span(0, U32_MAX - 1, policy, abis[0]!), { lo: U32_MAX, hi: U32_MAX, handler: def }];
  }
  const points = new Map<number, Handler>();
  for (const abi of abis) {
    for (const [nr, rules] of policy.rules.get(abi) ?? []) {
      const only = rules[0]!;
      const unconditional = rules.length === 1 && only.checks.length === 0;
      points.set(nr, unconditional ? { ret: only.ret } : { rules, wide: abi.wideArgs, key: rulesKey(rules, abi.wideArgs) });
    }
  }
  return cut(base, points);
}

/** Fall through when the check holds, jump to `fail` when not. */
function emitCheck(a: Assembler, c: ArgCheck, wide: boolean, fail: Label): void {
  const hi = Number(c.value >> 32n);
  const lo = Number(c.value & 0xffffffffn);
  const pass = a.label();
  const lowOnly = !wide;
  switch (c.op) {
    case "SCMP_CMP_EQ":
      if (!lowOnly) {
        a.load(argHigh(c.index));
        a.jump("jeq", hi, undefined, fail);
      }
      a.load(argLow(c.index));
      a.jump("jeq", lo, undefined, fail);
      break;
    case "SCMP_CMP_NE":
      if (!lowOnly) {
        a.load(argHigh(c.index));
        a.jump("jeq", hi, undefined, pass);
      }
      a.load(argLow(c.index));
      a.jump("jeq", lo, fail);
      break;
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
      if (!lowOnly) {
        a.load(argHigh(c.index));
        a.jump("jgt", hi, pass);
        a.jump("jeq", hi, undefined, fail);
      }
      a.load(argLow(c.index));
      a.jump(c.op === "SCMP_CMP_GT" ? "jgt" : "jge", lo, undefined, fail);
      break;
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE":
      if (!lowOnly) {
        a.load(argHigh(c.index));
        a.jump("jgt", hi, fail);
        a.jump("jeq", hi, undefined, pass);
      }
      a.load(argLow(c.index));
      a.jump(c.op === "SCMP_CMP_LT" ? "jge" : "jgt", lo, fail);
      break;
    case "SCMP_CMP_MASKED_EQ": {
      const words = lowOnly
        ? [[argLow(c.index), 0]]
        : [
            [argHigh(c.index), 32],
            [argLow(c.index), 0],
          ];
      for (const [offset, shift] of words as [number, number][]) {
        const mask = Number((c.value >> BigInt(shift)) & 0xffffffffn);
        const datum = Number((c.valueTwo >> BigInt(shift)) & 0xffffffffn);
        if (mask === 0 && datum === 0) continue; // (x & 0) == 0 always holds
        a.load(offset);
        if (mask !== U32_MAX) a.and(mask);
        a.jump("jeq", datum, undefined, fail);
      }
      break;
    }
  }
  a.place(pass);
}

function emitRules(a: Assembler, rules: Rule[], wide: boolean, fallback: number): void {
  for (const rule of rules) {
    const next = a.label();
    for (const check of rule.checks) emitCheck(a, check, wide, next);
    a.ret(rule.ret);
    a.place(next);
  }
  a.ret(fallback);
}

/** The rules of the syscalls in one ABI, emitted after its search tree, each distinct list once. */
class Chains {
  private byKey = new Map<string, { label: Label; rules: Rule[]; wide: boolean }>();

  constructor(private a: Assembler) {}

  labelFor(h: { rules: Rule[]; wide: boolean; key: string }): Label {
    let chain = this.byKey.get(h.key);
    if (!chain) {
      chain = { label: this.a.label(), rules: h.rules, wide: h.wide };
      this.byKey.set(h.key, chain);
    }
    return chain.label;
  }

  emit(fallback: number): void {
    for (const { label, rules, wide } of this.byKey.values()) {
      this.a.place(label);
      emitRules(this.a, rules, wide, fallback);
    }
  }
}

/** Binary search over the intervals; A holds the syscall number until a leaf. */
function emitTree(a: Assembler, ivs: Interval[], from: number, to: number, chains: Chains): void {
  if (from === to) {
    const h = ivs[from]!.handler;
    if ("ret" in h) a.ret(h.ret);
    else a.ja(chains.labelFor(h));
    return;
  }
  const mid = (from + to + 1) >> 1;
  const right = a.label();
  a.jump("jge", ivs[mid]!.lo, right);
  emitTree(a, ivs, from, mid - 1, chains);
  a.place(right);
  emitTree(a, ivs, mid, to, chains);
}

export function emitProgram(policy: Policy): Insn[] {
  const a = new Assembler();
  const sections = [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386]
    .map((audit) => ({ audit, abis: policy.abis.filter((abi) => abi.audit === audit), label: a.label() }))
    .filter((s) => s.abis.length > 0);
  a.load(OFFSET_ARCH);
  for (const s of sections) a.jump("jeq", s.audit, s.label);
  a.ret(BAD_ARCH);
  for (const s of sections) {
    a.place(s.label);
    a.load(OFFSET_NR);
    const ivs = sectionIntervals(policy, s.abis);
    const chains = new Chains(a);
    emitTree(a, ivs, 0, ivs.length - 1, chains);
    chains.emit(policy.defaultRet);
  }
  return a.assemble();
}
