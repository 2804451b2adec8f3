/**
 * Classic BPF as seccomp runs it: the few opcodes husk's filters use, an assembler with
 * forward labels, and the struct sock_filter wire form the native helper hands to seccomp(2).
 *
 * Classic BPF only jumps forward, and a conditional jump's targets (jt, jf) are u8 offsets:
 * at most 255 instructions ahead. The assembler lets code jump to labels at any distance and,
 * where a target is too far, routes that branch through a `ja` (32-bit offset) placed right
 * after the jump — repeating until every offset fits, since each inserted `ja` pushes other
 * targets further away.
 */

/** struct sock_filter codes (linux/bpf_common.h). */
export const BPF = {
  /** A = u32 at seccomp_data + k. */
  LD_W_ABS: 0x20,
  /** A &= k. */
  ALU_AND_K: 0x54,
  /** pc += k. */
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  /** Return k. */
  RET_K: 0x06,
} as const;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Bytes per struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export const INSN_SIZE = 8;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type Cond = "jeq" | "jgt" | "jge" | "jset";

const COND_CODES: Record<Cond, number> = { jeq: BPF.JEQ_K, jgt: BPF.JGT_K, jge: BPF.JGE_K, jset: BPF.JSET_K };

/** A place in the program, created by `label()` and fixed by `place()`. */
export type Label = number;

interface Item {
  code: number;
  k: number;
  /** Conditional jumps: where each branch goes; undefined falls through to the next item. */
  jt?: Label;
  jf?: Label;
  /** `ja`: its target. */
  to?: Label;
}

export class Assembler {
  private items: Item[] = [];
  /** Label → index of the item it stands before. */
  private where: number[] = [];

  label(): Label {
    this.where.push(-1);
    return this.where.length - 1;
  }

  place(label: Label): void {
    if (this.where[label] !== -1) throw new Error(`bpf: label ${label} placed twice`);
    this.where[label] = this.items.length;
  }

  get length(): number {
    return this.items.length;
  }

  load(offset: number): void {
    this.items.push({ code: BPF.LD_W_ABS, k: offset });
  }

  and(k: number): void {
    this.items.push({ code: BPF.ALU_AND_K, k: k >>> 0 });
  }

  ret(k: number): void {
    this.items.push({ code: BPF.RET_K, k: k >>> 0 });
  }

  ja(to: Label): void {
    this.items.push({ code: BPF.JA, k: 0, to });
  }

  /** if (A <cond> k) goto jt else goto jf; an omitted branch falls through. */
  jump(cond: Cond, k: number, jt?: Label, jf?: Label): void {
    this.items.push({ code: COND_CODES[cond], k: k >>> 0, jt, jf });
  }

  assemble(): Insn[] {
    const n = this.items.length;
    const target = (from: number, label: Label | undefined): number => {
      if (label === undefined) return from + 1;
      const at = this.where[label];
      if (at === undefined || at < 0) throw new Error(`bpf: label ${label} never placed`);
      if (at <= from) throw new Error(`bpf: jump from ${from} to ${at} is not forward`);
      if (at >= n) throw new Error(`bpf: label ${label} is past the last instruction`);
      return at;
    };
    const targets = this.items.map((it, i) => ({
      jt: it.code === BPF.JA ? target(i, it.to) : target(i, it.jt),
      jf: target(i, it.jf),
    }));
    // Items whose far branches go through `ja`s placed right after them: the targets, in order.
    const tramps: number[][] = this.items.map(() => []);
    const isCond = (code: number) => (code & 0x07) === 0x05 && code !== BPF.JA;
    let pos: number[] = [];
    for (;;) {
      pos = [];
      let p = 0;
      for (let i = 0; i < n; i++) {
        pos.push(p);
        p += 1 + tramps[i]!.length;
      }
      pos.push(p);
      let changed = false;
      for (let i = 0; i < n; i++) {
        if (!isCond(this.items[i]!.code)) continue;
        for (const t of [targets[i]!.jt, targets[i]!.jf]) {
          if (tramps[i]!.includes(t)) continue;
          if (pos[t]! - pos[i]! - 1 > 255) {
            tramps[i]!.push(t);
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    const out: Insn[] = [];
    for (let i = 0; i < n; i++) {
      const it = this.items[i]!;
      const { jt, jf } = targets[i]!;
      const off = (t: number) => {
        const tr = tramps[i]!.indexOf(t);
        return tr >= 0 ? tr : pos[t]! - pos[i]! - 1;
      };
      if (it.code === BPF.JA) out.push({ code: it.code, jt: 0, jf: 0, k: pos[jt]! - pos[i]! - 1 });
      else if (isCond(it.code)) out.push({ code: it.code, jt: off(jt), jf: off(jf), k: it.k });
      else out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      tramps[i]!.forEach((t, j) => {
        out.push({ code: BPF.JA, jt: 0, jf: 0, k: pos[t]! - (pos[i]! + 1 + j) - 1 });
      });
    }
    return out;
  }
}

/** struct sock_filter[] in the host's (little endian) byte order. */
export function encodeFilter(prog: readonly Insn[]): Uint8Array {
  const buf = new Uint8Array(prog.length * INSN_SIZE);
  const view = new DataView(buf.buffer);
  prog.forEach((insn, i) => {
    const o = i * INSN_SIZE;
    view.setUint16(o, insn.code, true);
    view.setUint8(o + 2, insn.jt);
    view.setUint8(o + 3, insn.jf);
    view.setUint32(o + 4, insn.k, true);
  });
  return buf;
}

export function decodeFilter(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE) throw new Error(`bpf: ${bytes.length} bytes is not a whole number of instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += INSN_SIZE) {
    out.push({
      code: view.getUint16(o, true),
      jt: view.getUint8(o + 2),
      jf: view.getUint8(o + 3),
      k: view.getUint32(o + 4, true),
    });
  }
  return out;
}

const hex = (k: number) => `0x${k.toString(16)}`;

/**
 * One line per instruction, jump targets as absolute instruction numbers:
 * `ld [4]`, `jeq 0xc000003e 2 5`, `ja 9`, `and 0xff`, `ret 0x7fff0000`.
 */
export function disassemble(prog: readonly Insn[]): string[] {
  return prog.map((insn, i) => {
    switch (insn.code) {
      case BPF.LD_W_ABS:
        return `ld [${insn.k}]`;
      case BPF.ALU_AND_K:
        return `and ${hex(insn.k)}`;
      case BPF.JA:
        return `ja ${i + 1 + insn.k}`;
      case BPF.RET_K:
        return `ret ${hex(insn.k)}`;
      default: {
        const name = (Object.keys(COND_CODES) as Cond[]).find((c) => COND_CODES[c] === insn.code);
        if (!name) return `unknown code ${hex(insn.code)} k ${hex(insn.k)}`;
        return `${name} ${hex(insn.k)} ${i + 1 + insn.jt} ${i + 1 + insn.jf}`;
      }
    }
  });
}
