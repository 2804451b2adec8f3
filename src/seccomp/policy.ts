/**
 * `linux.seccomp` → a Policy: validated, names resolved per ABI, and reduced to "for this
 * syscall number, try these rules in order, else the default action" — the semantics runc
 * gets from libseccomp, spelled out so the BPF emitter has no decisions left:
 *
 *   - a rule whose action (with its errno) equals the default action is dropped (runc does this
 *     because libseccomp refuses such rules);
 *   - a name this kernel's ABIs do not know is skipped with a warning (runc only logs it);
 *   - a rule's args are ANDed; but if one argument index appears twice, each condition becomes a
 *     rule of its own (ORed), as runc falls back to because libseccomp takes one condition per
 *     argument;
 *   - per syscall, an unconditional rule wins over every conditional one and the first
 *     unconditional rule wins over later ones (libseccomp keeps the "larger" match); otherwise
 *     conditional rules are tried in spec order and the first that matches decides;
 *   - runc's -ENOSYS stub: unless the default action lets calls through (ALLOW, LOG, TRACE) or
 *     already is ERRNO(ENOSYS), numbers above the highest syscall the profile names get
 *     ERRNO(ENOSYS), so programs fall back from syscalls newer than the profile (clone3 → clone)
 *     instead of failing on the default EPERM. As in runc, this applies per ABI, to the ABIs
 *     `architectures` lists (a profile without `architectures` gets no stub).
 */
import { HuskError } from "../errors.ts";
import { SECCOMP_OPERATORS } from "../oci/schema.ts";
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction, SeccompOperator } from "../oci/types.ts";
import {
  actionValue,
  ENOSYS,
  FILTER_FLAGS,
  isKnownAction,
  LISTENER_ONLY_FLAGS,
  NEW_LISTENER,
  SECCOMP_RET,
  SECCOMP_RET_DATA,
  takesErrno,
} from "./actions.ts";
import { ABIS, type Abi, syscallNumber } from "./arches.ts";

export interface ArgCheck {
  /** seccomp_data.args[index]. */
  index: number;
  op: SeccompOperator;
  /** The operand; for SCMP_CMP_MASKED_EQ, the mask. */
  value: bigint;
  /** For SCMP_CMP_MASKED_EQ: what the masked argument must equal. */
  valueTwo: bigint;
}

export interface Rule {
  /** ANDed; empty means the rule always matches. */
  checks: ArgCheck[];
  /** The filter's return value when the rule matches. */
  ret: number;
}

export interface Policy {
  defaultRet: number;
  /** x86_64 first, then x32 and i386 when listed. */
  abis: Abi[];
  /** Per ABI, per syscall number (x32 bit included): the rules in the order they are tried. */
  rules: Map<Abi, Map<number, Rule[]>>;
  /** Per ABI, the highest number the profile names, when the -ENOSYS stub applies. */
  enosysAbove: Map<Abi, number>;
  flags: number;
  warnings: string[];
}

export interface PolicyOptions {
  /** runc's -ENOSYS stub for syscalls newer than the profile (default true). */
  enosysStub?: boolean;
}

const U64_MAX = (1n << 64n) - 1n;

const NO_LISTENER = "SCMP_ACT_NOTIFY needs a seccomp agent: set linux.seccomp.listenerPath";

function fail(origin: string, message: string): never {
  throw new HuskError(message, { what: "seccomp", origin });
}

/** JSON gives uint64 values as numbers; 2^64-1 arrives rounded up to 2^64. */
function u64(v: unknown, origin: string): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (typeof v !== "number" || !Number.isInteger(v)) fail(origin, `not an integer: ${String(v)}`);
  const b = BigInt(v);
  if (b < 0n) return BigInt.asUintN(64, b);
  return b > U64_MAX ? U64_MAX : b;
}

function errnoRet(v: number | undefined, origin: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > SECCOMP_RET_DATA) {
    fail(origin, `must be an integer from 0 to ${SECCOMP_RET_DATA}, not ${v}`);
  }
  return v;
}

function argCheck(arg: LinuxSeccompArg, origin: string): ArgCheck {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) fail(`${origin}.index`, `must be 0 to 5, not ${arg.index}`);
  if (!SECCOMP_OPERATORS.includes(arg.op)) fail(`${origin}.op`, `unknown operator ${JSON.stringify(arg.op)}`);
  return {
    index: arg.index,
    op: arg.op,
    value: u64(arg.value, `${origin}.value`),
    valueTwo: arg.valueTwo === undefined ? 0n : u64(arg.valueTwo, `${origin}.valueTwo`),
  };
}

/** The ABIs in the filter (x86_64 always, as in libseccomp) and those the profile lists. */
function selectAbis(seccomp: LinuxSeccomp, warnings: string[]): { abis: Abi[]; listed: Set<Abi> } {
  const abis: Abi[] = [ABIS.SCMP_ARCH_X86_64];
  const listed = new Set<Abi>();
  const foreign = new Set<string>();
  for (const arch of seccomp.architectures ?? []) {
    if (arch === "SCMP_ARCH_X86_64" || arch === "SCMP_ARCH_X32" || arch === "SCMP_ARCH_X86") {
      if (!abis.includes(ABIS[arch])) abis.push(ABIS[arch]);
      listed.add(ABIS[arch]);
    } else {
      foreign.add(arch);
    }
  }
  if (foreign.size) {
    warnings.push(`linux.seccomp.architectures: ${[...foreign].join(", ")} ignored: an x86_64 kernel never runs them`);
  }
  return { abis, listed };
}

function filterFlags(seccomp: LinuxSeccomp, notify: boolean, warnings: string[]): number {
  let flags = notify ? NEW_LISTENER : 0;
  (seccomp.flags ?? []).forEach((flag, i) => {
    const origin = `linux.seccomp.flags[${i}]`;
    if (!Object.hasOwn(FILTER_FLAGS, flag)) fail(origin, `unknown seccomp flag ${JSON.stringify(flag)}`);
    if (LISTENER_ONLY_FLAGS.includes(flag) && !notify) {
      warnings.push(`${origin}: ${flag} ignored: it only applies to a seccomp listener (no SCMP_ACT_NOTIFY rule)`);
      return;
    }
    flags |= FILTER_FLAGS[flag];
  });
  return flags;
}

/** Whether any rule (or the default) hands syscalls to an agent; then the agent must exist. */
function usesNotify(seccomp: LinuxSeccomp, warnings: string[]): boolean {
  const notify =
    seccomp.defaultAction === "SCMP_ACT_NOTIFY" || (seccomp.syscalls ?? []).some((sc) => sc.action === "SCMP_ACT_NOTIFY");
  if (notify && !seccomp.listenerPath) fail("linux.seccomp.listenerPath", NO_LISTENER);
  if (!notify && (seccomp.listenerPath !== undefined || seccomp.listenerMetadata !== undefined)) {
    warnings.push("linux.seccomp.listenerPath/listenerMetadata ignored: no syscall is notified (SCMP_ACT_NOTIFY)");
  }
  return notify;
}

/**
 * The helper hands the listener to the agent with sendmsg right after loading the filter: if
 * that sendmsg were itself notified, it would wait for an agent that has no listener yet.
 */
function checkHandover(policy: Policy): void {
  const abi = ABIS.SCMP_ARCH_X86_64;
  const nr = syscallNumber(abi, "sendmsg") as number;
  const rules = policy.rules.get(abi)?.get(nr);
  const rets = rules
    ? [...rules.map((r) => r.ret), ...(rules.some((r) => r.checks.length === 0) ? [] : [policy.defaultRet])]
    : [policy.defaultRet];
  if (rets.includes(SECCOMP_RET.USER_NOTIF)) {
    fail("linux.seccomp", "SCMP_ACT_NOTIFY cannot apply to sendmsg: husk hands the seccomp listener to the agent with it");
  }
}

function defaultAction(seccomp: LinuxSeccomp, warnings: string[]): { action: SeccompAction; ret: number } {
  const action = seccomp.defaultAction;
  const origin = "linux.seccomp.defaultAction";
  if (action === undefined) fail(origin, "a default action is required");
  if (!isKnownAction(action)) fail(origin, `unknown action ${JSON.stringify(action)}`);
  const errno = errnoRet(seccomp.defaultErrnoRet, "linux.seccomp.defaultErrnoRet");
  if (errno !== undefined && !takesErrno(action))
    warnings.push(`linux.seccomp.defaultErrnoRet ignored: ${action} takes no errno`);
  return { action, ret: actionValue(action, errno) };
}

/** One `syscalls[]` entry's rules, before they are attached to syscall numbers. */
function entryRules(sc: LinuxSyscall, origin: string, warnings: string[]): Rule[] {
  if (!isKnownAction(sc.action)) fail(`${origin}.action`, `unknown action ${JSON.stringify(sc.action)}`);
  const errno = errnoRet(sc.errnoRet, `${origin}.errnoRet`);
  if (errno !== undefined && !takesErrno(sc.action)) warnings.push(`${origin}.errnoRet ignored: ${sc.action} takes no errno`);
  const ret = actionValue(sc.action, errno);
  const checks = (sc.args ?? []).map((arg, j) => argCheck(arg, `${origin}.args[${j}]`));
  const repeated = new Set(checks.map((c) => c.index)).size !== checks.length;
  return repeated ? checks.map((c) => ({ checks: [c], ret })) : [{ checks, ret }];
}

/** libseccomp's precedence: the first unconditional rule alone, else every rule in order. */
function precedence(rules: Rule[]): Rule[] {
  const unconditional = rules.find((r) => r.checks.length === 0);
  return unconditional ? [unconditional] : rules;
}

export function buildPolicy(seccomp: LinuxSeccomp, opts: PolicyOptions = {}): Policy {
  const warnings: string[] = [];
  const def = defaultAction(seccomp, warnings);
  const { abis, listed } = selectAbis(seccomp, warnings);
  const flags = filterFlags(seccomp, usesNotify(seccomp, warnings), warnings);
  const collected = new Map<Abi, Map<number, Rule[]>>(abis.map((abi) => [abi, new Map()]));
  const highest = new Map<Abi, number>();

  (seccomp.syscalls ?? []).forEach((sc, i) => {
    const origin = `linux.seccomp.syscalls[${i}]`;
    const rules = entryRules(sc, origin, warnings);
    const redundant = rules.every((r) => r.ret === def.ret);
    const unknown: string[] = [];
    for (const name of new Set(sc.names ?? [])) {
      let known = false;
      for (const abi of abis) {
        const nr = syscallNumber(abi, name);
        if (nr === undefined) continue;
        known = true;
        highest.set(abi, Math.max(highest.get(abi) ?? -1, nr));
        if (redundant) continue;
        const byNr = collected.get(abi)!;
        byNr.set(nr, [...(byNr.get(nr) ?? []), ...rules]);
      }
      if (!known) unknown.push(JSON.stringify(name));
    }
    if (unknown.length) {
      warnings.push(`${origin}.names: skipped ${unknown.join(", ")}: no such syscall on ${abis.map((a) => a.arch).join("/")}`);
    }
  });

  const rules = new Map<Abi, Map<number, Rule[]>>();
  for (const [abi, byNr] of collected) rules.set(abi, new Map([...byNr].map(([nr, list]) => [nr, precedence(list)])));

  const letsCallsThrough = ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(def.action);
  const stub = (opts.enosysStub ?? true) && !letsCallsThrough && def.ret !== (SECCOMP_RET.ERRNO | ENOSYS);
  const enosysAbove = new Map<Abi, number>();
  // Like runc, only for the architectures the profile lists.
  if (stub) for (const [abi, nr] of highest) if (listed.has(abi)) enosysAbove.set(abi, nr);
  const policy = { defaultRet: def.ret, abis, rules, enosysAbove, flags, warnings };
  if (flags & NEW_LISTENER) checkHandover(policy);
  return policy;
}
