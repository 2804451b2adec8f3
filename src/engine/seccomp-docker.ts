/**
 * docker's seccomp profile format → the OCI `linux.seccomp` the runtime compiles, the way
 * dockerd does it for a container: `archMap` picks the native architecture and its
 * sub-architectures; a `syscalls[]` entry is kept only when its `includes` hold (every cap in
 * the container's bounding set, the native arch listed, the kernel at least `minKernel`) and
 * its `excludes` do not (any cap held, the arch listed, the kernel new enough); `name` is the
 * old spelling of `names`. A plain OCI profile (`architectures`, no includes) passes through.
 *
 * Every field is checked here, before anything is made: a wrong one is one error naming the
 * profile (its file) and the field — `profile.json: syscalls[3].action: unknown action "X"`.
 * Pure: the kernel's release comes in.
 */
import { HuskError, quote } from "../errors.ts";
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../oci/schema.ts";
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompArch } from "../oci/types.ts";

/** Which syscalls[] entries apply: all conditions of `includes` must hold, none of `excludes`. */
export interface DockerSyscallFilter {
  /** Capabilities (CAP_…) of the container's bounding set. */
  caps?: string[];
  /** docker's (Go's) architecture names: "amd64", "x32", "x86", "arm64" … */
  arches?: string[];
  /** "4.8": the kernel is at least this release. */
  minKernel?: string;
}

export interface DockerSyscall extends Omit<LinuxSyscall, "names"> {
  names?: string[];
  /** The old single-name form. */
  name?: string;
  comment?: string;
  includes?: DockerSyscallFilter;
  excludes?: DockerSyscallFilter;
}

export interface DockerSeccompProfile extends Omit<LinuxSeccomp, "syscalls"> {
  /** Per native architecture, the ones its kernel also runs (x86_64: i386 and x32). */
  archMap?: { architecture: SeccompArch; subArchitectures?: SeccompArch[] | null }[];
  syscalls?: DockerSyscall[];
}

export interface ProfileContext {
  /** The container's capabilities (its bounding set). */
  caps: readonly string[];
  /** The kernel's release (os.release()), for minKernel. */
  kernel: string;
  /** docker's name of this machine's architecture; husk runs on x86_64 only. */
  arch?: "amd64";
  /** Named in errors: the file, or "the profile". */
  source?: string;
}

const NATIVE: Record<string, SeccompArch> = { amd64: "SCMP_ARCH_X86_64" };

class ProfileError extends HuskError {}

function fail(field: string, message: string): never {
  throw new ProfileError(field ? `${field}: ${message}` : message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string, what: string): T {
  if (typeof v !== "string" || !allowed.includes(v as T)) fail(field, `unknown ${what} ${quote(String(v))}`);
  return v as T;
}

function strings(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) fail(field, "must be an array of strings");
  return v as string[];
}

/** A whole number up to max; without one, a uint64 (2^64-1 arrives from JSON as 2^64; the compiler clamps it). */
function uint(v: unknown, field: string, max?: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > (max ?? 2 ** 64))
    fail(field, `must be a whole number from 0 to ${max ?? "2^64-1"}, not ${JSON.stringify(v)}`);
  return v;
}

/** "4.8", "5.10.12" → comparable numbers; anything else is an error. */
function release(text: string, field: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) fail(field, `invalid kernel version ${quote(text)}: MAJOR.MINOR`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(kernel: string, min: string, field: string): boolean {
  const have = release(kernel, "kernel release");
  const want = release(min, field);
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

function filterOf(v: unknown, field: string): DockerSyscallFilter {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) fail(field, "must be an object {caps, arches, minKernel}");
  const f: DockerSyscallFilter = {};
  if (v.caps != null) f.caps = strings(v.caps, `${field}.caps`);
  if (v.arches != null) f.arches = strings(v.arches, `${field}.arches`);
  if (v.minKernel != null) {
    if (typeof v.minKernel !== "string") fail(`${field}.minKernel`, "must be a string");
    release(v.minKernel, `${field}.minKernel`);
    f.minKernel = v.minKernel;
  }
  return f;
}

function argOf(v: unknown, field: string): LinuxSeccompArg {
  if (!isObject(v)) fail(field, "must be an object {index, value, valueTwo, op}");
  const arg: LinuxSeccompArg = {
    index: uint(v.index, `${field}.index`, 5),
    value: uint(v.value ?? 0, `${field}.value`),
    op: oneOf(v.op, SECCOMP_OPERATORS, `${field}.op`, "operator"),
  };
  if (v.valueTwo !== undefined && v.valueTwo !== 0) arg.valueTwo = uint(v.valueTwo, `${field}.valueTwo`);
  return arg;
}

/** Whether an entry applies to this container (dockerd's includes/excludes rules). */
function applies(inc: DockerSyscallFilter, exc: DockerSyscallFilter, ctx: ProfileContext, field: string): boolean {
  const arch = ctx.arch ?? "amd64";
  if (exc.arches?.includes(arch)) return false;
  if (exc.caps?.some((c) => ctx.caps.includes(c))) return false;
  if (exc.minKernel && atLeast(ctx.kernel, exc.minKernel, `${field}.excludes.minKernel`)) return false;
  if (inc.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc.caps?.some((c) => !ctx.caps.includes(c))) return false;
  if (inc.minKernel && !atLeast(ctx.kernel, inc.minKernel, `${field}.includes.minKernel`)) return false;
  return true;
}

function syscallOf(v: unknown, field: string, ctx: ProfileContext): LinuxSyscall | undefined {
  if (!isObject(v)) fail(field, "must be an object {names, action, …}");
  if (v.name !== undefined && v.names !== undefined) fail(field, 'both "name" and "names": use one');
  let names: string[];
  if (v.name !== undefined) {
    if (typeof v.name !== "string" || v.name === "") fail(`${field}.name`, "must be a non-empty string");
    names = [v.name];
  } else {
    names = strings(v.names ?? [], `${field}.names`);
  }
  const action = oneOf(v.action, SECCOMP_ACTIONS, `${field}.action`, "action");
  const args = v.args == null ? [] : Array.isArray(v.args) ? v.args : fail(`${field}.args`, "must be an array");
  const checked = args.map((a, j) => argOf(a, `${field}.args[${j}]`));
  const inc = filterOf(v.includes, `${field}.includes`);
  const exc = filterOf(v.excludes, `${field}.excludes`);
  const sc: LinuxSyscall = { names, action };
  if (v.errnoRet != null) sc.errnoRet = uint(v.errnoRet, `${field}.errnoRet`, 0xffff);
  if (checked.length) sc.args = checked;
  return applies(inc, exc, ctx, field) ? sc : undefined;
}

function architectures(p: Record<string, unknown>): SeccompArch[] | undefined {
  if (p.architectures != null && p.archMap != null) fail("", 'both "architectures" and "archMap": use one');
  if (p.architectures != null) {
    if (!Array.isArray(p.architectures)) fail("architectures", "must be an array");
    return p.architectures.map((a, i) => oneOf(a, SECCOMP_ARCHES, `architectures[${i}]`, "architecture"));
  }
  if (p.archMap == null) return undefined;
  if (!Array.isArray(p.archMap)) fail("archMap", "must be an array");
  const native = NATIVE.amd64;
  let out: SeccompArch[] | undefined;
  p.archMap.forEach((entry, i) => {
    const field = `archMap[${i}]`;
    if (!isObject(entry)) fail(field, "must be an object {architecture, subArchitectures}");
    const arch = oneOf(entry.architecture, SECCOMP_ARCHES, `${field}.architecture`, "architecture");
    const subs = entry.subArchitectures == null ? [] : entry.subArchitectures;
    if (!Array.isArray(subs)) fail(`${field}.subArchitectures`, "must be an array");
    const checked = subs.map((a, j) => oneOf(a, SECCOMP_ARCHES, `${field}.subArchitectures[${j}]`, "architecture"));
    if (arch === native && !out) out = [arch, ...checked];
  });
  return out;
}

/**
 * A docker (or OCI) profile → `linux.seccomp` for a container with ctx.caps; undefined when the
 * profile asks for no filter (no defaultAction and no syscalls, as docker and runc read it).
 * Errors are HuskErrors with `origin`, naming ctx.source and the field.
 */
export function dockerProfileToOci(profile: unknown, ctx: ProfileContext, origin: string): LinuxSeccomp | undefined {
  try {
    return convert(profile, ctx);
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err;
    throw new HuskError(`${ctx.source ?? "the profile"}: ${err.message}`, { origin });
  }
}

function convert(p: unknown, ctx: ProfileContext): LinuxSeccomp | undefined {
  if (!isObject(p)) fail("", "must be a JSON object");
  const syscalls = p.syscalls == null ? [] : Array.isArray(p.syscalls) ? p.syscalls : fail("syscalls", "must be an array");
  const out: LinuxSeccomp = {};
  if (p.defaultAction != null) out.defaultAction = oneOf(p.defaultAction, SECCOMP_ACTIONS, "defaultAction", "action");
  else if (syscalls.length > 0) fail("defaultAction", "required when syscalls are listed");
  if (p.defaultErrnoRet != null) out.defaultErrnoRet = uint(p.defaultErrnoRet, "defaultErrnoRet", 0xffff);
  const arches = architectures(p);
  if (arches) out.architectures = arches;
  if (p.flags != null) {
    if (!Array.isArray(p.flags)) fail("flags", "must be an array");
    out.flags = p.flags.map((f, i) => oneOf(f, SECCOMP_FLAGS, `flags[${i}]`, "flag"));
  }
  for (const key of ["listenerPath", "listenerMetadata"] as const) {
    if (p[key] == null || p[key] === "") continue;
    if (typeof p[key] !== "string") fail(key, "must be a string");
    out[key] = p[key] as string;
  }
  out.syscalls = syscalls.flatMap((s, i) => syscallOf(s, `syscalls[${i}]`, ctx) ?? []);
  if (out.defaultAction === undefined && out.syscalls.length === 0) return undefined;
  return out;
}
