/**
 * The shape of config.json as valibot schemas: which fields exist, their types and the
 * per-field rules (absolute paths, integer ranges, known names). Rules that relate several
 * fields (a hostname needs a UTS namespace, mappings must not overlap …) live in rules.ts.
 *
 * Objects are loose: the spec allows extension fields, so unknown keys are kept, not refused.
 * Most leaves are `v.custom` with a message written for the reader ("must be an absolute
 * path"), because valibot's own messages ("Invalid type: Expected …") are not that; the
 * generic cases (string, boolean, missing key) are phrased by `fallbackMessage`.
 *
 * valibot is loaded and the schemas are built on first use, not at import: together that is
 * about 8 ms, and most husk commands (state, kill, list) import this module without ever
 * parsing a spec. `require` is what makes the load lazy yet synchronous, so parseSpec stays
 * a plain function.
 */
import { createRequire } from "node:module";
import type * as V from "valibot";
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
/** JSON.parse rounds 2^64-1 up to 2^64, so 2^64 is the largest uint64 we can be given. */
const U64_MAX = 2 ** 64;
const I64_MAX = 2 ** 63;

// ---- leaf builders ------------------------------------------------------------------------

/** valibot, once loaded; every builder below runs inside build(), after the load. */
let v: typeof V;

function hasNul(s: string): boolean {
  return s.includes("\0");
}

function int(min: number, max: number, maxText = String(max)) {
  const low =
    min === 0
      ? "must be a non-negative integer"
      : min === 1
        ? "must be a positive integer"
        : min < Number.MIN_SAFE_INTEGER
          ? "must be an integer"
          : `must be an integer between ${min} and ${maxText}`;
  return v.custom<number>(
    (x) => typeof x === "number" && Number.isInteger(x) && x >= min && x <= max,
    (issue) => (typeof issue.input === "number" && issue.input > max ? `must be at most ${maxText}` : low),
  );
}

/** A string from a closed set; `what` names the set in the message: unknown namespace type "foo". */
function oneOf<T extends string>(values: readonly T[], what: string, hint = "") {
  const known = new Set<string>(values);
  return v.custom<T>(
    (x) => typeof x === "string" && known.has(x),
    (issue) => (typeof issue.input === "string" ? `unknown ${what} "${issue.input}"${hint}` : "must be a string"),
  );
}

function isPlainObject(x: unknown): boolean {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A loose object that refuses arrays (valibot's objects accept anything `typeof "object"`). */
function obj<const E extends V.ObjectEntries>(entries: E) {
  return v.pipe(v.custom<Record<string, unknown>>(isPlainObject, "must be an object"), v.looseObject(entries));
}

/** A JSON object used as a map (sysctl, annotations); refuses arrays like obj. */
function rec<const K extends V.GenericSchema<string, string | number | symbol>, const T extends V.GenericSchema>(
  key: K,
  value: T,
) {
  return v.pipe(v.custom<Record<string, unknown>>(isPlainObject, "must be an object"), v.record(key, value));
}

// ---- the schemas --------------------------------------------------------------------------

function build() {
  const opt = v.optional;
  const u16 = int(0, 65535);
  const u32 = int(0, U32_MAX);
  const u64 = int(0, U64_MAX, "18446744073709551615");
  const i64 = int(-I64_MAX, I64_MAX, "9223372036854775807");
  const bool = v.boolean();
  const str = v.string();
  const strings = v.array(str);
  const stringMap = rec(str, str);

  const nonEmpty = v.custom<string>(
    (x) => typeof x === "string" && x !== "" && !hasNul(x),
    (issue) =>
      typeof issue.input !== "string"
        ? "must be a string"
        : issue.input === ""
          ? "must not be empty"
          : "must not contain a NUL byte",
  );

  const absPath = v.custom<string>(
    (x) => typeof x === "string" && x.startsWith("/") && !hasNul(x),
    (issue) =>
      typeof issue.input !== "string"
        ? "must be a string"
        : hasNul(issue.input)
          ? "must not contain a NUL byte"
          : `must be an absolute path, not "${issue.input}"`,
  );

  const nonEmptyStrings = v.custom<string[]>(
    (x) => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === "string"),
    "must be a non-empty array of strings",
  );

  // ---- process

  // runc refuses env entries it cannot hand to execve as NAME=value.
  const envEntry = v.custom<string>(
    (x) => typeof x === "string" && x.indexOf("=") > 0 && !hasNul(x),
    (issue) =>
      typeof issue.input !== "string"
        ? "must be a string"
        : hasNul(issue.input)
          ? "must not contain a NUL byte"
          : `must be NAME=value, not "${issue.input}"`,
  );

  const args = v.pipe(nonEmptyStrings, v.array(v.custom<string>((x) => !hasNul(x as string), "must not contain a NUL byte")));

  const capabilityList = opt(strings);

  const processSchema = obj({
    terminal: opt(bool),
    // struct winsize holds unsigned shorts.
    consoleSize: opt(obj({ height: u16, width: u16 })),
    user: obj({ uid: u32, gid: u32, umask: opt(u32), additionalGids: opt(v.array(u32)) }),
    args,
    env: opt(v.array(envEntry)),
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
    rlimits: opt(v.array(obj({ type: oneOf(RLIMIT_NAMES, "rlimit type"), hard: u64, soft: u64 }))),
    noNewPrivileges: opt(bool),
    apparmorProfile: opt(str),
    // The kernel refuses anything outside [-1000, 1000] with EINVAL.
    oomScoreAdj: opt(int(-1000, 1000)),
    scheduler: opt(
      obj({
        policy: oneOf(SCHEDULER_POLICIES, "scheduler policy"),
        nice: opt(int(-20, 19)),
        priority: opt(int(0, 99)),
        flags: opt(v.array(oneOf(SCHEDULER_FLAGS, "scheduler flag"))),
        runtime: opt(u64),
        deadline: opt(u64),
        period: opt(u64),
      }),
    ),
    selinuxLabel: opt(str),
    ioPriority: opt(obj({ class: oneOf(IOPRIO_CLASSES, "I/O priority class"), priority: int(0, 7) })),
  });

  // ---- root, mounts, hooks

  const idMappings = opt(v.array(obj({ containerID: u32, hostID: u32, size: int(1, U32_MAX) })));

  const mount = obj({
    // Relative destinations are accepted (with a warning) and made absolute by the rules, as runc does.
    destination: nonEmpty,
    type: opt(str),
    source: opt(str),
    options: opt(strings),
    uidMappings: idMappings,
    gidMappings: idMappings,
  });

  const hookList = opt(v.array(obj({ path: absPath, args: opt(strings), env: opt(strings), timeout: opt(int(1, 2 ** 31 - 1)) })));

  const hooks = obj({
    prestart: hookList,
    createRuntime: hookList,
    createContainer: hookList,
    startContainer: hookList,
    poststart: hookList,
    poststop: hookList,
  });

  // ---- linux.resources

  const deviceRule = obj({
    allow: bool,
    type: opt(oneOf(["a", "c", "b"] as const, "device type")),
    // -1 is how some tools spell the wildcard that an absent major/minor means.
    major: opt(int(-1, I64_MAX)),
    minor: opt(int(-1, I64_MAX)),
    access: opt(
      v.custom<string>(
        (x) => typeof x === "string" && /^[rwm]*$/.test(x),
        (issue) =>
          typeof issue.input === "string" ? `must be made of "r", "w" and "m", not "${issue.input}"` : "must be a string",
      ),
    ),
  });

  const throttleDevices = opt(v.array(obj({ major: i64, minor: i64, rate: u64 })));

  const resources = obj({
    devices: opt(v.array(deviceRule)),
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
        weightDevice: opt(v.array(obj({ major: i64, minor: i64, weight: opt(u16), leafWeight: opt(u16) }))),
        throttleReadBpsDevice: throttleDevices,
        throttleWriteBpsDevice: throttleDevices,
        throttleReadIOPSDevice: throttleDevices,
        throttleWriteIOPSDevice: throttleDevices,
      }),
    ),
    hugepageLimits: opt(v.array(obj({ pageSize: str, limit: u64 }))),
    network: opt(obj({ classID: opt(u32), priorities: opt(v.array(obj({ name: str, priority: u32 }))) })),
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
    uid: opt(u32),
    gid: opt(u32),
  });

  const seccompAction = oneOf(SECCOMP_ACTIONS, "seccomp action");
  const seccomp = obj({
    defaultAction: opt(seccompAction),
    defaultErrnoRet: opt(u32),
    architectures: opt(v.array(oneOf(SECCOMP_ARCHES, "seccomp architecture"))),
    flags: opt(v.array(oneOf(SECCOMP_FLAGS, "seccomp flag"))),
    listenerPath: opt(str),
    listenerMetadata: opt(str),
    syscalls: opt(
      v.array(
        obj({
          names: nonEmptyStrings,
          action: seccompAction,
          errnoRet: opt(u32),
          args: opt(
            v.array(
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

  // "" means unset, as in runc; it is dropped rather than refused.
  const rootfsPropagation = v.pipe(
    oneOf(["", ...PROPAGATION_NAMES] as ("" | RootfsPropagation)[], "rootfs propagation"),
    v.transform((x) => (x === "" ? undefined : x)),
  );

  const linux = obj({
    uidMappings: idMappings,
    gidMappings: idMappings,
    sysctl: opt(stringMap),
    resources: opt(resources),
    cgroupsPath: opt(str),
    namespaces: opt(v.array(obj({ type: oneOf(NAMESPACE_TYPES, "namespace type"), path: opt(absPath) }))),
    devices: opt(v.array(device)),
    seccomp: opt(seccomp),
    rootfsPropagation: opt(rootfsPropagation),
    maskedPaths: opt(v.array(absPath)),
    readonlyPaths: opt(v.array(absPath)),
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
    personality: opt(obj({ domain: oneOf(["LINUX", "LINUX32"] as const, "personality domain"), flags: opt(strings) })),
    timeOffsets: opt(timeOffsets),
  });

  // ---- the document

  const ociVersion = v.custom<string>(
    (x) => typeof x === "string" && SEMVER.exec(x)?.[1] === "1",
    (issue) => {
      if (typeof issue.input !== "string") return "must be a string";
      const m = SEMVER.exec(issue.input);
      if (!m) return `"${issue.input}" is not a semantic version`;
      return `unsupported major version ${m[1]} (husk implements runtime-spec 1.x)`;
    },
  );

  const specSchema = obj({
    ociVersion,
    // runc refuses a config without them ("root must be specified", "process property must not be empty").
    root: obj({ path: nonEmpty, readonly: opt(bool) }),
    process: processSchema,
    hostname: opt(str),
    domainname: opt(str),
    mounts: opt(v.array(mount)),
    hooks: opt(hooks),
    annotations: opt(stringMap),
    linux: opt(linux),
  });

  return { specSchema, processSchema };
}

let built: ReturnType<typeof build> | undefined;

function schemas(): ReturnType<typeof build> {
  if (!built) {
    v = createRequire(import.meta.url)("valibot");
    built = build();
  }
  return built;
}

export type ShapeResult<T> = { ok: true; output: T } | { ok: false; path: V.IssuePathItem[] | undefined; message: string };

type Output<K extends "spec" | "process"> = V.InferOutput<ReturnType<typeof build>[`${K}Schema`]>;

/**
 * Check the shape of a config.json ("spec") or process.json ("process") and stop at the
 * first problem, reporting valibot's path to it and a message for people.
 */
export function checkShape<K extends "spec" | "process">(kind: K, input: unknown): ShapeResult<Output<K>> {
  const s = schemas();
  const schema = kind === "spec" ? s.specSchema : s.processSchema;
  const result = v.safeParse(schema, input, { abortEarly: true, message: fallbackMessage });
  if (result.success) return { ok: true, output: result.output as Output<K> };
  const issue = result.issues[0];
  return { ok: false, path: issue.path, message: issue.message };
}

/** Messages for the issues no schema above words itself: wrong JSON type, missing key. */
function fallbackMessage(issue: V.BaseIssue<unknown>): string {
  switch (issue.type) {
    case "string":
      return "must be a string";
    case "boolean":
      return "must be a boolean";
    case "number":
      return "must be a number";
    case "array":
      return "must be an array";
    case "record":
      return "must be an object";
    case "loose_object":
    case "object":
      // valibot reports a missing key as an object issue whose `expected` is the quoted key.
      return issue.input === undefined && issue.expected?.startsWith('"') ? "is required" : "must be an object";
    default:
      return "is invalid";
  }
}
