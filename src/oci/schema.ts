/**
 * The shape of config.json: which fields exist, their types and the per-field rules (absolute
 * paths, integer ranges, known names). Rules that relate several fields (a hostname needs a UTS
 * namespace, mappings must not overlap …) live in rules.ts.
 *
 * Each field has a check: a plain function that returns the field's value, with objects and
 * arrays copied (the rules normalise the copy in place), or throws at the first problem with a
 * message written for the reader ("must be an absolute path"). The containers (obj, arr, rec)
 * keep the JSON path of the value being checked on a stack, so when a check throws, the stack
 * is the path to the problem.
 *
 * Objects are loose: the spec allows extension fields, so unknown keys are kept, not refused.
 *
 * These checks replaced valibot: loading it, building its schemas and the first, JIT-cold parse
 * took 10–14 ms of every runtime process, and containerd starts the runtime 4–6 times per
 * container. The output is what valibot produced, down to the key order of each object.
 */
import { quote } from "../errors.ts";
import { OCI_VERSION } from "./default-spec.ts";
import { PROPAGATION_NAMES } from "./mount-options.ts";
import { NAMESPACE_TYPES } from "./namespaces.ts";
import { RLIMIT_NAMES } from "./rlimits.ts";
import type {
  DeviceType,
  IOPriorityClass,
  RootfsPropagation,
  SchedulerFlag,
  SchedulerPolicy,
  SeccompAction,
  SeccompArch,
  SeccompFlag,
  SeccompOperator,
  TimeOffsetClock,
} from "./types.ts";

// ---- closed sets --------------------------------------------------------------------------

export const SCHEDULER_POLICIES: readonly SchedulerPolicy[] = [
  "SCHED_OTHER",
  "SCHED_FIFO",
  "SCHED_RR",
  "SCHED_BATCH",
  "SCHED_ISO",
  "SCHED_IDLE",
  "SCHED_DEADLINE",
];

export const SCHEDULER_FLAGS: readonly SchedulerFlag[] = [
  "SCHED_FLAG_RESET_ON_FORK",
  "SCHED_FLAG_RECLAIM",
  "SCHED_FLAG_DL_OVERRUN",
  "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS",
  "SCHED_FLAG_UTIL_CLAMP_MIN",
  "SCHED_FLAG_UTIL_CLAMP_MAX",
];

export const IOPRIO_CLASSES: readonly IOPriorityClass[] = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];

export const DEVICE_TYPES: readonly DeviceType[] = ["c", "b", "u", "p"];

export const SECCOMP_ACTIONS: readonly SeccompAction[] = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];

export const SECCOMP_OPERATORS: readonly SeccompOperator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

export const SECCOMP_FLAGS: readonly SeccompFlag[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

export const SECCOMP_ARCHES: readonly SeccompArch[] = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
];

/** Only these clocks can be offset in a time namespace (/proc/<pid>/timens_offsets). */
export const TIME_CLOCKS: readonly TimeOffsetClock[] = ["monotonic", "boottime"];

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const U32_MAX = 2 ** 32 - 1;
/**
 * The largest uid or gid: (uid_t)-1 is no id. setresuid(-1, -1, -1) and chown(path, -1, -1)
 * leave the id unchanged, so a process asked to run as 4294967295 would stay root; the kernel
 * also refuses it in uid_map and gid_map.
 */
export const ID_MAX = U32_MAX - 1;
/** JSON.parse rounds 2^64-1 up to 2^64, so 2^64 is the largest uint64 we can be given. */
const U64_MAX = 2 ** 64;
const I64_MAX = 2 ** 63;

// ---- checks -------------------------------------------------------------------------------

type Key = string | number;

/** Returns the value (objects and arrays copied) or throws a Problem; `path` leads to the value. */
type Check<T> = (value: unknown, path: Key[]) => T;

/** An object member that may be absent. */
interface Optional<T> {
  readonly optional: Check<T>;
}

/** What a check throws; only checkShape catches it. */
interface Problem {
  readonly shapeProblem: string;
}

function fail(message: string): never {
  throw { shapeProblem: message } satisfies Problem;
}

function isProblem(e: unknown): e is Problem {
  return typeof e === "object" && e !== null && "shapeProblem" in e;
}

/** Any string, NUL bytes included: only for what never reaches the kernel (annotations). */
function text(x: unknown): string {
  return typeof x === "string" ? x : fail("must be a string");
}

/**
 * A string without NUL bytes. Nearly every string in a config ends up as a C string (a path,
 * an argument, a mount option, a sysctl, a hostname) or in a file the kernel parses, where a
 * NUL would cut it short or be refused deep inside the helper.
 */
function str(x: unknown): string {
  const s = text(x);
  return s.includes("\0") ? fail("must not contain a NUL byte") : s;
}

function bool(x: unknown): boolean {
  return typeof x === "boolean" ? x : fail("must be a boolean");
}

function int(min: number, max: number, maxText = String(max)): Check<number> {
  const low =
    min === 0
      ? "must be a non-negative integer"
      : min === 1
        ? "must be a positive integer"
        : min < Number.MIN_SAFE_INTEGER
          ? "must be an integer"
          : `must be an integer between ${min} and ${maxText}`;
  return (x) => {
    if (typeof x === "number" && Number.isInteger(x) && x >= min && x <= max) return x;
    return fail(typeof x === "number" && x > max ? `must be at most ${maxText}` : low);
  };
}

/** A string from a closed set; `what` names the set in the message: unknown namespace type "foo". */
function oneOf<const T extends string>(values: readonly T[], what: string, hint = ""): Check<T> {
  const known = new Set<string>(values);
  return (x) => {
    const s = text(x);
    return known.has(s) ? (s as T) : fail(`unknown ${what} ${quote(s)}${hint}`);
  };
}

function opt<T>(check: Check<T>): Optional<T> {
  return { optional: check };
}

/** An object member that may be absent, and then reads as `fallback`. */
interface Defaulted<T> {
  readonly check: Check<T>;
  readonly fallback: T;
}

function dflt<T>(check: Check<T>, fallback: T): Defaulted<T> {
  return { check, fallback };
}

function arr<T>(item: Check<T>): Check<T[]> {
  return (x, path) => {
    if (!Array.isArray(x)) return fail("must be an array");
    const out: T[] = [];
    for (let i = 0; i < x.length; i++) {
      path.push(i);
      out.push(item(x[i], path));
      path.pop();
    }
    return out;
  };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Keys dropped from objects and maps rather than copied: the names prototype-pollution gadgets
 * use ("__proto__" would even give the copy a prototype). valibot dropped the same three, and no
 * config.json field is named so.
 */
function isCopied(key: string): boolean {
  return key !== "__proto__" && key !== "prototype" && key !== "constructor";
}

type Members = Record<string, Check<unknown> | Optional<unknown> | Defaulted<unknown>>;

/** What obj(members) returns. */
type Shape<M extends Members> = {
  [K in keyof M as M[K] extends Optional<unknown> ? never : K]: M[K] extends Check<infer T>
    ? T
    : M[K] extends Defaulted<infer T>
      ? T
      : never;
} & {
  [K in keyof M as M[K] extends Optional<unknown> ? K : never]?: M[K] extends Optional<infer T> ? T : never;
};

/** A JSON object with these members, in this order, followed by any extension members. */
function obj<const M extends Members>(members: M): Check<Shape<M>> {
  const keys = Object.keys(members);
  return (x, path) => {
    if (!isPlainObject(x)) return fail("must be an object");
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const member = members[key]!;
      const value = x[key];
      path.push(key);
      if (typeof member === "function") out[key] = key in x ? member(value, path) : fail("is required");
      else if ("fallback" in member) out[key] = value === undefined ? member.fallback : member.check(value, path);
      else if (key in x) out[key] = value === undefined ? undefined : member.optional(value, path);
      path.pop();
    }
    for (const key of Object.keys(x)) if (isCopied(key) && !Object.hasOwn(members, key)) out[key] = x[key];
    return out as Shape<M>;
  };
}

/** Any string keys, or some of a closed set. */
type KeyedBy<K extends string, T> = string extends K ? Record<string, T> : { [P in K]?: T };

/** A JSON object used as a map (sysctl, annotations). */
function rec<K extends string, T>(key: Check<K>, value: Check<T>): Check<KeyedBy<K, T>> {
  return (x, path) => {
    if (!isPlainObject(x)) return fail("must be an object");
    const out: Record<string, T> = {};
    for (const name of Object.keys(x)) {
      if (!isCopied(name)) continue;
      path.push(name);
      const k = key(name, path);
      out[k] = value(x[name], path);
      path.pop();
    }
    return out as KeyedBy<K, T>;
  };
}

// ---- leaves with their own messages

function nonEmpty(x: unknown): string {
  const s = str(x);
  return s === "" ? fail("must not be empty") : s;
}

function absPath(x: unknown): string {
  const s = str(x);
  return s.startsWith("/") ? s : fail(`must be an absolute path, not ${quote(s)}`);
}

/** A non-empty array of strings without NUL bytes; the element's own path names a NUL. */
function nonEmptyStrings(x: unknown, path: Key[]): string[] {
  const message = "must be a non-empty array of strings";
  if (!Array.isArray(x) || x.length === 0) return fail(message);
  for (const s of x) if (typeof s !== "string") fail(message);
  return strings(x, path);
}

const u16 = int(0, 65535);
const u32 = int(0, U32_MAX);
const id = int(0, ID_MAX, "4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)");
const i32 = int(-(2 ** 31), 2 ** 31 - 1);
const u64 = int(0, U64_MAX, "18446744073709551615");
const i64 = int(-I64_MAX, I64_MAX, "9223372036854775807");
const strings = arr(str);
const stringMap = rec(str, str);

// ---- process

// runc refuses env entries it cannot hand to execve as NAME=value.
function envEntry(x: unknown): string {
  const s = str(x);
  return s.indexOf("=") > 0 ? s : fail(`must be NAME=value, not ${quote(s)}`);
}

const capabilityList = opt(strings);

const processShape = obj({
  terminal: opt(bool),
  // The spec's uint, ignored without a terminal; like runc, the helper keeps the low 16 bits
  // that struct winsize holds.
  consoleSize: opt(obj({ height: u64, width: u64 })),
  user: obj({ uid: id, gid: id, umask: opt(u32), additionalGids: opt(arr(id)) }),
  args: nonEmptyStrings,
  env: opt(arr(envEntry)),
  cwd: absPath,
  capabilities: opt(
    obj({
      bounding: capabilityList,
      effective: capabilityList,
      inheritable: capabilityList,
      permitted: capabilityList,
      ambient: capabilityList,
    }),
  ),
  rlimits: opt(arr(obj({ type: oneOf(RLIMIT_NAMES, "rlimit type"), hard: u64, soft: u64 }))),
  noNewPrivileges: opt(bool),
  apparmorProfile: opt(str),
  // The kernel refuses anything outside [-1000, 1000] with EINVAL.
  oomScoreAdj: opt(int(-1000, 1000)),
  scheduler: opt(
    obj({
      policy: oneOf(SCHEDULER_POLICIES, "scheduler policy"),
      // The spec's int32; the rules check -20…19 where nice applies, as runc does.
      nice: opt(i32),
      // sched_setattr refuses anything outside 0…99 (1…99 for the real-time policies).
      priority: opt(int(0, 99)),
      flags: opt(arr(oneOf(SCHEDULER_FLAGS, "scheduler flag"))),
      runtime: opt(u64),
      deadline: opt(u64),
      period: opt(u64),
    }),
  ),
  selinuxLabel: opt(str),
  // runc checks 0…7; a missing level is 0, as in runc and the spec's JSON schema.
  ioPriority: opt(obj({ class: oneOf(IOPRIO_CLASSES, "I/O priority class"), priority: dflt(int(0, 7), 0) })),
  execCPUAffinity: opt(obj({ initial: opt(str), final: opt(str) })),
});

// ---- root, mounts, hooks

const idMappings = opt(arr(obj({ containerID: id, hostID: id, size: int(1, U32_MAX) })));

const mount = obj({
  // Relative destinations are accepted (with a warning) and made absolute by the rules, as runc does.
  destination: nonEmpty,
  type: opt(str),
  source: opt(str),
  options: opt(strings),
  uidMappings: idMappings,
  gidMappings: idMappings,
});

const hookList = opt(arr(obj({ path: absPath, args: opt(strings), env: opt(strings), timeout: opt(int(1, 2 ** 31 - 1)) })));

const hooks = obj({
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});

// ---- linux.resources

/** Letters; only "r", "w" and "m" mean anything (runc ignores the others: its tests say "rwa"). */
function deviceAccess(x: unknown): string {
  const s = text(x);
  return /^[a-z]*$/.test(s) ? s : fail(`must be made of "r", "w" and "m" (other letters are ignored), not ${quote(s)}`);
}

const deviceRule = obj({
  allow: bool,
  type: opt(oneOf(["a", "c", "b"], "device type")),
  // -1 is how some tools spell the wildcard that an absent major/minor means.
  major: opt(int(-1, I64_MAX)),
  minor: opt(int(-1, I64_MAX)),
  access: opt(deviceAccess),
});

const throttleDevices = opt(arr(obj({ major: i64, minor: i64, rate: u64 })));

const resources = obj({
  devices: opt(arr(deviceRule)),
  memory: opt(
    obj({
      limit: opt(i64),
      reservation: opt(i64),
      swap: opt(i64),
      kernel: opt(i64),
      kernelTCP: opt(i64),
      swappiness: opt(u64),
      disableOOMKiller: opt(bool),
      useHierarchy: opt(bool),
      checkBeforeUpdate: opt(bool),
    }),
  ),
  cpu: opt(
    obj({
      shares: opt(u64),
      quota: opt(i64),
      burst: opt(u64),
      period: opt(u64),
      realtimeRuntime: opt(i64),
      realtimePeriod: opt(u64),
      cpus: opt(str),
      mems: opt(str),
      idle: opt(i64),
    }),
  ),
  pids: opt(obj({ limit: i64 })),
  blockIO: opt(
    obj({
      weight: opt(u16),
      leafWeight: opt(u16),
      weightDevice: opt(arr(obj({ major: i64, minor: i64, weight: opt(u16), leafWeight: opt(u16) }))),
      throttleReadBpsDevice: throttleDevices,
      throttleWriteBpsDevice: throttleDevices,
      throttleReadIOPSDevice: throttleDevices,
      throttleWriteIOPSDevice: throttleDevices,
    }),
  ),
  hugepageLimits: opt(arr(obj({ pageSize: str, limit: u64 }))),
  network: opt(obj({ classID: opt(u32), priorities: opt(arr(obj({ name: str, priority: u32 }))) })),
  rdma: opt(rec(str, obj({ hcaHandles: opt(u32), hcaObjects: opt(u32) }))),
  unified: opt(stringMap),
});

// ---- linux

const device = obj({
  path: absPath,
  type: oneOf(DEVICE_TYPES, "device type"),
  major: opt(i64),
  minor: opt(i64),
  fileMode: opt(u32),
  uid: opt(id),
  gid: opt(id),
});

const seccompAction = oneOf(SECCOMP_ACTIONS, "seccomp action");
const seccomp = obj({
  defaultAction: opt(seccompAction),
  defaultErrnoRet: opt(u32),
  architectures: opt(arr(oneOf(SECCOMP_ARCHES, "seccomp architecture"))),
  flags: opt(arr(oneOf(SECCOMP_FLAGS, "seccomp flag"))),
  listenerPath: opt(str),
  listenerMetadata: opt(str),
  syscalls: opt(
    arr(
      obj({
        names: nonEmptyStrings,
        action: seccompAction,
        errnoRet: opt(u32),
        args: opt(
          arr(
            obj({
              // Syscalls take at most six arguments.
              index: int(0, 5),
              value: u64,
              valueTwo: opt(u64),
              op: oneOf(SECCOMP_OPERATORS, "seccomp operator"),
            }),
          ),
        ),
      }),
    ),
  ),
});

const timeOffsets = rec(
  oneOf(TIME_CLOCKS, "clock", " (only monotonic and boottime can be offset)"),
  obj({ secs: opt(i64), nanosecs: opt(int(0, 999_999_999)) }),
);

// "" means unset, as in runc; it is dropped rather than refused (the member stays, undefined).
const propagation = oneOf<"" | RootfsPropagation>(["", ...(PROPAGATION_NAMES as RootfsPropagation[])], "rootfs propagation");
const rootfsPropagation: Check<RootfsPropagation | undefined> = (x, path) => propagation(x, path) || undefined;

// The kernel refuses a newline in a cgroup's name (it would break /proc/<pid>/cgroup's lines).
function cgroupsPath(x: unknown): string {
  const s = str(x);
  return s.includes("\n") ? fail(`must not contain a newline, not ${quote(s)}`) : s;
}

const linux = obj({
  uidMappings: idMappings,
  gidMappings: idMappings,
  sysctl: opt(stringMap),
  resources: opt(resources),
  cgroupsPath: opt(cgroupsPath),
  namespaces: opt(arr(obj({ type: oneOf(NAMESPACE_TYPES, "namespace type"), path: opt(absPath) }))),
  devices: opt(arr(device)),
  seccomp: opt(seccomp),
  rootfsPropagation: opt(rootfsPropagation),
  maskedPaths: opt(arr(absPath)),
  readonlyPaths: opt(arr(absPath)),
  mountLabel: opt(str),
  intelRdt: opt(
    obj({
      closID: opt(str),
      l3CacheSchema: opt(str),
      memBwSchema: opt(str),
      enableCMT: opt(bool),
      enableMBM: opt(bool),
    }),
  ),
  personality: opt(obj({ domain: oneOf(["LINUX", "LINUX32"], "personality domain"), flags: opt(strings) })),
  timeOffsets: opt(timeOffsets),
});

// ---- the document

function ociVersion(x: unknown): string {
  const s = str(x);
  const m = SEMVER.exec(s);
  if (!m) fail(`${quote(s)} is not a semantic version`);
  if (m[1] !== "1") fail(`unsupported major version ${m[1]} (husk implements runtime-spec 1.x)`);
  return s;
}

const specShape = obj({
  // REQUIRED by the spec, but only informational: runc and crun never read it, and
  // hand-written configs leave it out. Absent, it reads as the version husk implements.
  ociVersion: dflt(ociVersion, OCI_VERSION),
  // runc refuses a config without them ("root must be specified", "process property must not be empty").
  root: obj({ path: nonEmpty, readonly: opt(bool) }),
  process: processShape,
  hostname: opt(str),
  domainname: opt(str),
  mounts: opt(arr(mount)),
  hooks: opt(hooks),
  // Annotations only reach state.json and the hooks' stdin, both JSON: any string will do.
  annotations: opt(rec(text, text)),
  linux: opt(linux),
});

const SHAPES = { spec: specShape, process: processShape };

type Output<K extends keyof typeof SHAPES> = ReturnType<(typeof SHAPES)[K]>;

/** One step of a JSON path: an object member's name or an array index. */
export interface PathItem {
  key: string | number;
}

export type ShapeResult<T> = { ok: true; output: T } | { ok: false; path: PathItem[]; message: string };

/**
 * Check the shape of a config.json ("spec") or process.json ("process") and stop at the
 * first problem, reporting the path to it and a message for people. The input is not changed.
 */
export function checkShape<K extends keyof typeof SHAPES>(kind: K, input: unknown): ShapeResult<Output<K>> {
  const path: Key[] = [];
  try {
    return { ok: true, output: SHAPES[kind](input, path) as Output<K> };
  } catch (e) {
    if (!isProblem(e)) throw e;
    return { ok: false, path: path.map((key) => ({ key })), message: e.shapeProblem };
  }
}
