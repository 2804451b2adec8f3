/**
 * Device rules on cgroup v2: the kernel has no devices.allow/deny there, only a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. This module turns the rules
 * into such a program (eBPF instructions as bytes); the helper loads and attaches it.
 *
 * The rules first go through an emulation of the v1 devices controller (devcgroup_update_access
 * in the kernel), so that a rule list means on v2 exactly what it means on v1:
 *   - a rule of type "a" resets everything: allow → allow by default, deny → deny by default,
 *     and the exception list is emptied;
 *   - any other rule adds its access letters to the exception with the same type, major and
 *     minor, or takes them away, depending on whether it goes with or against the default;
 *   - default deny: an access is allowed when one exception covers every letter asked for;
 *     default allow: an access is denied when an exception shares any letter with it.
 * The emulation starts from "deny everything", as husk's v1 writes do.
 */
import type { LinuxDeviceCgroup } from "./resources.ts";

/** Access bits as the kernel passes them to the program (BPF_DEVCG_ACC_*). */
const ACC = { m: 1, r: 2, w: 4 } as const;
/** Device types as the kernel passes them (BPF_DEVCG_DEV_*). */
const DEV = { b: 1, c: 2 } as const;

export interface DeviceException {
  type: "b" | "c";
  /** -1: any. */
  major: number;
  minor: number;
  /** ACC bits. */
  access: number;
}

export interface DeviceState {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

function accessBits(access: string | undefined): number {
  let bits = 0;
  for (const letter of access ?? "rwm") bits |= ACC[letter as keyof typeof ACC] ?? 0;
  return bits;
}

const wildcard = (n: number | undefined) => (n === undefined || n < 0 ? -1 : n);

/** What the v1 controller would hold after "deny a" and then each rule in order. */
export function emulateDeviceRules(rules: readonly LinuxDeviceCgroup[]): DeviceState {
  let state: DeviceState = { defaultAllow: false, exceptions: [] };
  for (const rule of rules) {
    const type = rule.type ?? "a";
    if (type === "a") {
      state = { defaultAllow: rule.allow, exceptions: [] };
      continue;
    }
    const key = { type: type as "b" | "c", major: wildcard(rule.major), minor: wildcard(rule.minor) };
    const bits = accessBits(rule.access);
    const at = state.exceptions.findIndex((e) => e.type === key.type && e.major === key.major && e.minor === key.minor);
    // With the default the rule changes nothing but an exception: remove those letters.
    if (rule.allow === state.defaultAllow) {
      if (at < 0) continue;
      const left = (state.exceptions[at] as DeviceException).access & ~bits;
      if (left === 0) state.exceptions.splice(at, 1);
      else state.exceptions[at] = { ...(state.exceptions[at] as DeviceException), access: left };
    } else if (at < 0) {
      state.exceptions.push({ ...key, access: bits });
    } else {
      const e = state.exceptions[at] as DeviceException;
      state.exceptions[at] = { ...e, access: e.access | bits };
    }
  }
  return state;
}

// eBPF encoding: u8 opcode · u8 (src << 4 | dst) · s16 offset · s32 immediate, little endian.
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const MOV64_X = 0xbf;
const MOV64_K = 0xb7;
const AND64_K = 0x57;
const RSH64_K = 0x77;
const JNE_K = 0x55; // if dst != imm goto +off
const JSET_K = 0x45; // if dst & imm goto +off
const JEQ_K = 0x15;
const EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

/**
 * The program: read type, access, major and minor from struct bpf_cgroup_dev_ctx
 * ({u32 access_type = access << 16 | type; u32 major; u32 minor}), test each exception in
 * turn, and return 1 (allow) or 0 (deny).
 */
export function compileDeviceFilter(state: DeviceState): Uint8Array {
  const allow = state.defaultAllow ? 0 : 1; // what matching an exception returns
  const out: Insn[] = [
    insn(LDX_W, 2, 1, 0), // r2 = access_type
    insn(MOV64_X, 3, 2), // r3 = type
    insn(AND64_K, 3, 0, 0, 0xffff),
    insn(RSH64_K, 2, 0, 0, 16), // r2 = access
    insn(LDX_W, 4, 1, 4), // r4 = major
    insn(LDX_W, 5, 1, 8), // r5 = minor
  ];
  for (const e of state.exceptions) {
    const block: Insn[] = [insn(JNE_K, 3, 0, 0, DEV[e.type])];
    if (e.major >= 0) block.push(insn(JNE_K, 4, 0, 0, e.major));
    if (e.minor >= 0) block.push(insn(JNE_K, 5, 0, 0, e.minor));
    if (state.defaultAllow) {
      // A deny exception applies if it shares any letter with the access.
      block.push(insn(MOV64_X, 6, 2), insn(AND64_K, 6, 0, 0, e.access), insn(JEQ_K, 6, 0, 0, 0));
    } else {
      // An allow exception applies only if it covers every letter asked for.
      block.push(insn(JSET_K, 2, 0, 0, ~e.access & 7));
    }
    block.push(insn(MOV64_K, 0, 0, 0, allow), insn(EXIT));
    // Every conditional jump in the block skips to the end of it: the next exception.
    for (let i = 0; i < block.length; i++) {
      const b = block[i] as Insn;
      if (b.code === JNE_K || b.code === JEQ_K || b.code === JSET_K) b.off = block.length - i - 1;
    }
    out.push(...block);
  }
  out.push(insn(MOV64_K, 0, 0, 0, state.defaultAllow ? 1 : 0), insn(EXIT));
  const bytes = new Uint8Array(out.length * 8);
  const view = new DataView(bytes.buffer);
  for (const [i, x] of out.entries()) {
    view.setUint8(i * 8, x.code);
    view.setUint8(i * 8 + 1, (x.src << 4) | x.dst);
    view.setInt16(i * 8 + 2, x.off, true);
    view.setInt32(i * 8 + 4, x.imm, true);
  }
  return bytes;
}

/**
 * Run the program on one access, as the kernel would, so unit tests can check the compiled
 * bytes against the emulation without loading them. `type` "b"/"c", `access` letters.
 */
export function runDeviceFilter(program: Uint8Array, type: "b" | "c", major: number, minor: number, access: string): boolean {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const ctx = [(accessBits(access) << 16) | DEV[type], major, minor];
  const r = new Array<bigint>(11).fill(0n);
  const mask = (1n << 64n) - 1n;
  const imm64 = (imm: number) => BigInt.asUintN(64, BigInt(imm));
  for (let pc = 0; pc * 8 < program.length; pc++) {
    const code = view.getUint8(pc * 8);
    const regs = view.getUint8(pc * 8 + 1);
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = view.getInt16(pc * 8 + 2, true);
    const imm = view.getInt32(pc * 8 + 4, true);
    const jump = (taken: boolean) => {
      if (taken) pc += off;
    };
    switch (code) {
      case LDX_W:
        r[dst] = BigInt(ctx[off / 4] ?? 0);
        break;
      case MOV64_X:
        r[dst] = r[src] as bigint;
        break;
      case MOV64_K:
        r[dst] = imm64(imm);
        break;
      case AND64_K:
        r[dst] = (r[dst] as bigint) & imm64(imm);
        break;
      case RSH64_K:
        r[dst] = ((r[dst] as bigint) >> BigInt(imm)) & mask;
        break;
      case JNE_K:
        jump(r[dst] !== imm64(imm));
        break;
      case JEQ_K:
        jump(r[dst] === imm64(imm));
        break;
      case JSET_K:
        jump(((r[dst] as bigint) & imm64(imm)) !== 0n);
        break;
      case EXIT:
        return r[0] === 1n;
      default:
        throw new Error(`device filter: unknown opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("device filter: fell off the end");
}
