/**
 * The OCI runtime-spec 1.2 `config.json` (Linux parts) and the OCI state document.
 *
 * Field names are the JSON names. Integer fields are `number`: JSON numbers above 2^53 lose
 * precision when parsed, which matters only for uint64 fields (rlimits, seccomp argument
 * values, byte counts); for rlimits, anything at or above 2^64-1 means RLIM_INFINITY
 * (see rlimits.ts). parseJson (json.ts) turns literals beyond every integer field's range into
 * ±Infinity first, so 2^64 is refused rather than rounded into range. Extension fields the spec allows are kept by the parser but not typed here.
 */
import type { LinuxResources } from "../cgroups/resources.ts";
import type { RlimitName } from "./rlimits.ts";

export interface Spec {
  /** SemVer of the spec the bundle follows; husk accepts major version 1 (absent: husk's own, OCI_VERSION). */
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

/** A spec that passed `parseSpec`: it has what `create`/`run` need. */
export type ValidSpec = Spec & { process: Process; root: Root };

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  /** exec only (not the init): CPUs before and after the process joins the container's cgroup. */
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export type CapabilitySet = "bounding" | "effective" | "inheritable" | "permitted" | "ambient";

export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit {
  /** The spec allows any string; a validated spec has only names husk knows. */
  type: RlimitName;
  hard: number;
  soft: number;
}

export type SchedulerPolicy =
  | "SCHED_OTHER"
  | "SCHED_FIFO"
  | "SCHED_RR"
  | "SCHED_BATCH"
  | "SCHED_ISO"
  | "SCHED_IDLE"
  | "SCHED_DEADLINE";

export type SchedulerFlag =
  | "SCHED_FLAG_RESET_ON_FORK"
  | "SCHED_FLAG_RECLAIM"
  | "SCHED_FLAG_DL_OVERRUN"
  | "SCHED_FLAG_KEEP_POLICY"
  | "SCHED_FLAG_KEEP_PARAMS"
  | "SCHED_FLAG_UTIL_CLAMP_MIN"
  | "SCHED_FLAG_UTIL_CLAMP_MAX";

export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export type IOPriorityClass = "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE";

export interface LinuxIOPriority {
  class: IOPriorityClass;
  /** 0 (highest) … 7; absent in the JSON reads as 0. */
  priority: number;
}

export interface Root {
  /** Absolute, or relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** Id-mapped mount (bind mounts only). */
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; greater than zero when set. */
  timeout?: number;
}

export type HookName = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export type Hooks = { [K in HookName]?: Hook[] };

export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
  timeOffsets?: LinuxTimeOffsets;
  /** Host network interfaces to move into the container (runtime-spec 1.2); refused by husk. */
  netDevices?: Record<string, { name?: string }>;
  /** NUMA memory policy (runtime-spec 1.3); refused by husk. */
  memoryPolicy?: Record<string, unknown>;
}

export type RootfsPropagation = "private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared" | "unbindable" | "runbindable";

export type LinuxNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

export interface LinuxNamespace {
  type: LinuxNamespaceType;
  /** Join the namespace at this absolute path instead of creating one. */
  path?: string;
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type TimeOffsetClock = "monotonic" | "boottime";

export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

export type LinuxTimeOffsets = { [K in TimeOffsetClock]?: LinuxTimeOffset };

export type DeviceType = "c" | "b" | "u" | "p";

export interface LinuxDevice {
  path: string;
  type: DeviceType;
  /** Required unless type is "p". */
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

// linux.resources: the cgroup module's types, which it keeps free of any upward dependency.
export type {
  LinuxBlockIO,
  LinuxBlockIODevice,
  LinuxCPU,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxInterfacePriority,
  LinuxMemory,
  LinuxNetwork,
  LinuxPids,
  LinuxRdma,
  LinuxResources,
  LinuxThrottleDevice,
  LinuxWeightDevice,
} from "../cgroups/resources.ts";

export type SeccompAction =
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_LOG"
  | "SCMP_ACT_NOTIFY";

export type SeccompOperator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

export type SeccompFlag =
  | "SECCOMP_FILTER_FLAG_TSYNC"
  | "SECCOMP_FILTER_FLAG_LOG"
  | "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
  | "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";

export type SeccompArch =
  | "SCMP_ARCH_X86"
  | "SCMP_ARCH_X86_64"
  | "SCMP_ARCH_X32"
  | "SCMP_ARCH_ARM"
  | "SCMP_ARCH_AARCH64"
  | "SCMP_ARCH_MIPS"
  | "SCMP_ARCH_MIPS64"
  | "SCMP_ARCH_MIPS64N32"
  | "SCMP_ARCH_MIPSEL"
  | "SCMP_ARCH_MIPSEL64"
  | "SCMP_ARCH_MIPSEL64N32"
  | "SCMP_ARCH_PPC"
  | "SCMP_ARCH_PPC64"
  | "SCMP_ARCH_PPC64LE"
  | "SCMP_ARCH_S390"
  | "SCMP_ARCH_S390X"
  | "SCMP_ARCH_PARISC"
  | "SCMP_ARCH_PARISC64"
  | "SCMP_ARCH_RISCV64"
  | "SCMP_ARCH_LOONGARCH64";

export interface LinuxSeccomp {
  /** Required unless `syscalls` is empty too (then seccomp is off, as in runc). */
  defaultAction?: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccompArg {
  /** Syscall argument index, 0..5. */
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface LinuxPersonality {
  domain: "LINUX" | "LINUX32";
  flags?: string[];
}

/** The OCI state document (`husk state`, and stdin of hooks). */
export type ContainerStatus = "creating" | "created" | "running" | "stopped" | "paused";

export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Absent once the container has stopped. */
  pid?: number;
  /** Absolute path of the bundle directory. */
  bundle: string;
  annotations?: Record<string, string>;
}

/** What a seccomp agent receives on `listenerPath` together with the notify fd. */
export interface ContainerProcessState {
  ociVersion: string;
  /** Names of the passed fds, in order ("seccompFd"). */
  fds: string[];
  pid: number;
  metadata?: string;
  state: State;
}
