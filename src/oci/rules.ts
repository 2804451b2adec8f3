/**
 * The rules of a valid config.json that relate several fields, checked after the shape
 * (schema.ts) is known to be right. They follow runc's checks (libcontainer/configs/validate
 * and specconv) so a bundle runc accepts, husk accepts, and the other way round; where runc
 * only logs a warning and carries on (unknown capabilities, relative mount destinations),
 * the rule normalises the spec and reports the warning.
 *
 * Each rule is a named object so tests can run one rule alone, and a reader can see every
 * rule the runtime enforces in one list (SPEC_RULES, in the order they run).
 */
import { posix } from "node:path";
import { isCpuList } from "../cgroups/convert.ts";
import { quote } from "../errors.ts";
import { isCapabilityName } from "./capabilities.ts";
import { type MountOptions, parseMountOptions } from "./mount-options.ts";
import { isRlimInfinity } from "./rlimits.ts";
import type { CapabilitySet, LinuxIDMapping, LinuxNamespace, LinuxNamespaceType, Mount, ValidSpec } from "./types.ts";

export interface SpecWarning {
  /** Spec path the warning is about: `mounts[2].destination`. */
  path: string;
  message: string;
}

export interface ValidateOptions {
  /** The runtime runs without root on the host (euid != 0): runc's "rootless EUID". */
  rootless?: boolean;
  /**
   * What an unknown capability name does. runtime-spec 1.1+ and runc: "warn" (dropped, with a
   * warning), the default. runtime-tools' process_capabilities_fail, written for 1.0, wants "error".
   */
  unknownCapabilities?: "warn" | "error";
}

export interface RuleContext {
  readonly options: Readonly<ValidateOptions>;
  /** Reject the spec: throws a SpecError naming `path`. */
  fail(path: string, message: string): never;
  warn(path: string, message: string): void;
}

export interface SpecRule {
  /** Stable short name, for tests and `--help`-style listings. */
  readonly name: string;
  /** What the rule enforces, one line. */
  readonly description: string;
  /** Throws through ctx.fail on a violation; may normalise the spec in place. */
  check(spec: ValidSpec, ctx: RuleContext): void;
}

// ---- helpers ------------------------------------------------------------------------------

interface FoundNamespace {
  index: number;
  ns: LinuxNamespace;
}

function findNamespace(spec: ValidSpec, type: LinuxNamespaceType): FoundNamespace | undefined {
  const list = spec.linux?.namespaces ?? [];
  const index = list.findIndex((ns) => ns.type === type);
  return index < 0 ? undefined : { index, ns: list[index]! };
}

/** A namespace of this type is configured, new or joined by path (runc's Namespaces.Contains). */
function hasNamespace(spec: ValidSpec, type: LinuxNamespaceType): boolean {
  return findNamespace(spec, type) !== undefined;
}

/** Record keys print as ["key"] since sysctl names and annotations are full of dots. */
function keyPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}

function limitText(n: number): string {
  return isRlimInfinity(n) ? "unlimited" : String(n);
}

/** sysctl.d(5) allows "/" as the separator; in that form a "." belongs to a name (eth0.100). */
export function normaliseSysctlName(name: string): string {
  const first = name.search(/[./]/);
  if (first < 0 || name[first] === ".") return name;
  return name.replace(/[./]/g, (c) => (c === "/" ? "." : "/"));
}

/** The kernel accepts at most this many lines in uid_map/gid_map (UID_GID_MAP_MAX_EXTENTS). */
export const MAX_ID_MAP_EXTENTS = 340;

function checkIdMappings(path: string, maps: readonly LinuxIDMapping[] | undefined, ctx: RuleContext): void {
  if (!maps) return;
  if (maps.length > MAX_ID_MAP_EXTENTS) ctx.fail(path, `at most ${MAX_ID_MAP_EXTENTS} mappings are allowed, got ${maps.length}`);
  const limit = 2 ** 32 - 1;
  maps.forEach((m, i) => {
    const here = `${path}[${i}]`;
    // The kernel refuses ranges that wrap around the 32-bit id space.
    if (m.containerID + m.size > limit) ctx.fail(here, `containerID + size must not exceed ${limit}`);
    if (m.hostID + m.size > limit) ctx.fail(here, `hostID + size must not exceed ${limit}`);
    for (let j = 0; j < i; j++) {
      const o = maps[j]!;
      // Both directions must be unambiguous, so the kernel refuses overlaps on either side.
      if (m.containerID < o.containerID + o.size && o.containerID < m.containerID + m.size) {
        ctx.fail(here, `container ids ${m.containerID}-${m.containerID + m.size - 1} overlap ${path}[${j}]`);
      }
      if (m.hostID < o.hostID + o.size && o.hostID < m.hostID + m.size) {
        ctx.fail(here, `host ids ${m.hostID}-${m.hostID + m.size - 1} overlap ${path}[${j}]`);
      }
    }
  });
}

/** Mount data options for a message: as written when plain, quoted when they hold odd characters. */
function dataText(data: readonly string[]): string {
  const joined = data.join(",");
  return /^[\w.,=:@+/-]*$/.test(joined) ? joined : quote(joined);
}

/** A bind mount by its options, or by `"type": "bind"` alone, which crun and husk honour too. */
function isBindMount(m: Mount, parsed: MountOptions): boolean {
  return parsed.bind || m.type === "bind";
}

// ---- the rules ----------------------------------------------------------------------------

const mountDestinations: SpecRule = {
  name: "mount-destinations",
  description: "mount destinations are absolute (relative ones are made absolute with a warning)",
  check(spec, ctx) {
    spec.mounts?.forEach((m, i) => {
      if (!m.destination.startsWith("/")) {
        // runc 1.x still accepts these, relative to the container's root.
        const absolute = posix.join("/", m.destination);
        ctx.warn(
          `mounts[${i}].destination`,
          `relative destination ${quote(m.destination)} is deprecated, using ${quote(absolute)}`,
        );
        m.destination = absolute;
      }
    });
  },
};

const bindMountOptions: SpecRule = {
  name: "bind-mount-options",
  description: "filesystem-specific options on a bind mount are ignored (the kernel would ignore them too)",
  check(spec, ctx) {
    spec.mounts?.forEach((m, i) => {
      const parsed = parseMountOptions(m.options ?? []);
      // runc and crun accept these and the kernel ignores them; the spec does not forbid them.
      if (isBindMount(m, parsed) && parsed.data.length > 0) {
        ctx.warn(`mounts[${i}].options`, `filesystem-specific options on a bind mount are ignored (${dataText(parsed.data)})`);
      }
    });
  },
};

const idMappedMounts: SpecRule = {
  name: "id-mapped-mounts",
  description: "id-mapped mounts are bind mounts, not rootless, with both uid and gid mappings (own or the container's)",
  check(spec, ctx) {
    spec.mounts?.forEach((m, i) => {
      const here = `mounts[${i}]`;
      checkIdMappings(`${here}.uidMappings`, m.uidMappings, ctx);
      checkIdMappings(`${here}.gidMappings`, m.gidMappings, ctx);
      const parsed = parseMountOptions(m.options ?? []);
      const explicit = m.uidMappings !== undefined || m.gidMappings !== undefined;
      if (!explicit && !parsed.idmap) return;
      if (!isBindMount(m, parsed)) ctx.fail(here, "id-mapped mounts are only supported for bind mounts");
      // MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN in the user namespace that owns the mount.
      if (ctx.options.rootless) ctx.fail(here, "id-mapped mounts are not supported for rootless containers");
      if (explicit) {
        if (!m.uidMappings?.length || !m.gidMappings?.length) {
          ctx.fail(here, "id-mapped mounts need both uidMappings and gidMappings");
        }
        return;
      }
      // "idmap" alone borrows the container's user namespace mappings (or its path).
      const userns = findNamespace(spec, "user");
      if (!userns) ctx.fail(here, "id-mapped mounts need uidMappings and gidMappings, or a user namespace to take them from");
    });
  },
};

const rlimits: SpecRule = {
  name: "rlimits",
  description: "each rlimit type appears once and its soft limit does not exceed its hard limit",
  check(spec, ctx) {
    const seen = new Map<string, number>();
    spec.process.rlimits?.forEach((r, i) => {
      const first = seen.get(r.type);
      if (first !== undefined) {
        ctx.fail(`process.rlimits[${i}].type`, `duplicate rlimit type "${r.type}" (first at process.rlimits[${first}])`);
      }
      seen.set(r.type, i);
      const soft = isRlimInfinity(r.soft) ? Number.POSITIVE_INFINITY : r.soft;
      const hard = isRlimInfinity(r.hard) ? Number.POSITIVE_INFINITY : r.hard;
      // setrlimit(2) would refuse it with EINVAL; say which limit instead.
      if (soft > hard) {
        ctx.fail(`process.rlimits[${i}]`, `soft limit ${limitText(r.soft)} exceeds hard limit ${limitText(r.hard)}`);
      }
    });
  },
};

const CAPABILITY_SETS: readonly CapabilitySet[] = ["bounding", "effective", "inheritable", "permitted", "ambient"];

const capabilities: SpecRule = {
  name: "capabilities",
  description: "unknown capability names are dropped with a warning, as runc does (or refused, if so asked)",
  check(spec, ctx) {
    const caps = spec.process.capabilities;
    if (!caps) return;
    for (const set of CAPABILITY_SETS) {
      const list = caps[set];
      if (!list) continue;
      list.forEach((name, i) => {
        if (isCapabilityName(name)) return;
        const path = `process.capabilities.${set}[${i}]`;
        if (ctx.options.unknownCapabilities === "error") ctx.fail(path, `unknown capability ${quote(name)}`);
        ctx.warn(path, `ignoring unknown capability ${quote(name)}`);
      });
      caps[set] = list.filter(isCapabilityName);
    }
  },
};

const namespacesUnique: SpecRule = {
  name: "namespaces-unique",
  description: "each namespace type appears once",
  check(spec, ctx) {
    const seen = new Map<string, number>();
    spec.linux?.namespaces?.forEach((ns, i) => {
      const first = seen.get(ns.type);
      if (first !== undefined) {
        ctx.fail(`linux.namespaces[${i}].type`, `duplicate namespace type "${ns.type}" (first at linux.namespaces[${first}])`);
      }
      seen.set(ns.type, i);
    });
  },
};

const idMappings: SpecRule = {
  name: "id-mappings",
  description: "uid/gid mapping ranges do not overlap (in container or host ids), do not wrap, and number at most 340",
  check(spec, ctx) {
    checkIdMappings("linux.uidMappings", spec.linux?.uidMappings, ctx);
    checkIdMappings("linux.gidMappings", spec.linux?.gidMappings, ctx);
  },
};

const userNamespace: SpecRule = {
  name: "user-namespace",
  description: "mappings need a user namespace; a new one needs both mappings unless rootless; rootless needs a user namespace",
  check(spec, ctx) {
    const uid = spec.linux?.uidMappings;
    const gid = spec.linux?.gidMappings;
    const userns = findNamespace(spec, "user");
    if (!userns) {
      if (uid || gid) {
        ctx.fail(
          uid ? "linux.uidMappings" : "linux.gidMappings",
          "user namespace mappings specified, but no user namespace is configured",
        );
      }
      if (ctx.options.rootless) ctx.fail("linux.namespaces", "rootless containers require a user namespace");
      return;
    }
    if (userns.ns.path) {
      // containerd and CRI-O send the mappings of the namespace they ask to join; runc tolerates it.
      if (uid || gid) {
        ctx.warn(
          uid ? "linux.uidMappings" : "linux.gidMappings",
          "ignored: a user namespace joined by path keeps its own mappings",
        );
      }
      return;
    }
    // Rootless husk maps the invoking user itself when the spec gives no mappings.
    if (ctx.options.rootless) return;
    const missing = [!uid?.length && "linux.uidMappings", !gid?.length && "linux.gidMappings"].filter(Boolean);
    if (missing.length > 0) {
      ctx.fail(`linux.namespaces[${userns.index}]`, `a new user namespace needs ${missing.join(" and ")}`);
    }
  },
};

const timeNamespace: SpecRule = {
  name: "time-namespace",
  description: "timeOffsets need a new time namespace (not one joined by path)",
  check(spec, ctx) {
    const offsets = spec.linux?.timeOffsets;
    if (!offsets) return;
    const timens = findNamespace(spec, "time");
    if (!timens) return ctx.fail("linux.timeOffsets", "time namespace offsets specified, but no time namespace is configured");
    // Offsets can only be written before the first process enters the namespace.
    if (timens.ns.path) ctx.fail("linux.timeOffsets", "cannot set offsets of a time namespace joined by path");
  },
};

const utsNamespace: SpecRule = {
  name: "uts-namespace",
  description: "hostname and domainname need a UTS namespace",
  check(spec, ctx) {
    if (hasNamespace(spec, "uts")) return;
    if (spec.hostname) ctx.fail("hostname", "unable to set hostname without a private UTS namespace");
    if (spec.domainname) ctx.fail("domainname", "unable to set domainname without a private UTS namespace");
  },
};

const mountNamespace: SpecRule = {
  name: "mount-namespace",
  description: "maskedPaths and readonlyPaths need a mount namespace; mounts without one get a warning",
  check(spec, ctx) {
    if (hasNamespace(spec, "mount")) return;
    // Masking or remounting /proc and /sys outside a mount namespace would do it to the host.
    if (spec.linux?.maskedPaths?.length) ctx.fail("linux.maskedPaths", "unable to mask paths without a mount namespace");
    if (spec.linux?.readonlyPaths?.length) {
      ctx.fail("linux.readonlyPaths", "unable to make paths read-only without a mount namespace");
    }
    // runc allows this (and runtime-tools tests it): the mounts land in the runtime's namespace.
    if (spec.mounts?.length) {
      ctx.warn("linux.namespaces", "no mount namespace: mounts are made in the runtime's own mount namespace");
    }
  },
};

/** IPC sysctls that are namespaced (ipc_namespace), besides everything under fs.mqueue. */
const IPC_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

const sysctl: SpecRule = {
  name: "sysctl",
  description: "only namespaced sysctls, each with its namespace: ipc ones need ipc, net.* needs network, kernel.domainname uts",
  check(spec, ctx) {
    const entries = Object.keys(spec.linux?.sysctl ?? {});
    for (const key of entries) {
      const name = normaliseSysctlName(key);
      const here = keyPath("linux.sysctl", key);
      if (IPC_SYSCTLS.has(name) || name.startsWith("fs.mqueue.")) {
        if (!hasNamespace(spec, "ipc")) ctx.fail(here, `not allowed in the host's ipc namespace (add an "ipc" namespace)`);
        continue;
      }
      if (name.startsWith("net.")) {
        // A network namespace joined by path could still be the host's; runc stats it to
        // tell. That is I/O, so it is left to the runtime, not this check.
        if (!hasNamespace(spec, "network")) {
          ctx.fail(here, `not allowed in the host's network namespace (add a "network" namespace)`);
        }
        continue;
      }
      if (hasNamespace(spec, "uts")) {
        if (name === "kernel.domainname") continue;
        if (name === "kernel.hostname") ctx.fail(here, `conflicts with the "hostname" field; set that instead`);
      }
      ctx.fail(here, "not in a separate kernel namespace (it would change the host)");
    }
  },
};

const devices: SpecRule = {
  name: "devices",
  description: "device nodes other than fifos have a major and minor number",
  check(spec, ctx) {
    spec.linux?.devices?.forEach((d, i) => {
      if (d.type === "p") return;
      if (d.major === undefined) ctx.fail(`linux.devices[${i}].major`, `is required for device type "${d.type}"`);
      if (d.minor === undefined) ctx.fail(`linux.devices[${i}].minor`, `is required for device type "${d.type}"`);
    });
  },
};

const scheduler: SpecRule = {
  name: "scheduler",
  description:
    "nice within -20…19 for SCHED_OTHER/SCHED_BATCH; priority only for SCHED_FIFO/SCHED_RR; runtime, deadline and period only for SCHED_DEADLINE",
  check(spec, ctx) {
    const s = spec.process.scheduler;
    if (!s) return;
    // runc's check. The other policies do not use nice, and sched_setattr clamps it anyway.
    const nice = s.nice ?? 0;
    if ((s.policy === "SCHED_OTHER" || s.policy === "SCHED_BATCH") && (nice < -20 || nice > 19)) {
      ctx.fail("process.scheduler.nice", `must be between -20 and 19 for ${s.policy}, not ${nice}`);
    }
    if (s.priority && s.policy !== "SCHED_FIFO" && s.policy !== "SCHED_RR") {
      ctx.fail("process.scheduler.priority", `only SCHED_FIFO and SCHED_RR take a priority, not ${s.policy}`);
    }
    if (s.policy !== "SCHED_DEADLINE") {
      for (const field of ["runtime", "deadline", "period"] as const) {
        if (s[field]) ctx.fail(`process.scheduler.${field}`, `only applies to SCHED_DEADLINE, not ${s.policy}`);
      }
    }
  },
};

const execCPUAffinity: SpecRule = {
  name: "exec-cpu-affinity",
  description: "execCPUAffinity.initial and .final are CPU lists (0-3,7)",
  check(spec, ctx) {
    const a = spec.process.execCPUAffinity;
    for (const field of ["initial", "final"] as const) {
      const v = a?.[field];
      if (v !== undefined && !isCpuList(v)) {
        ctx.fail(`process.execCPUAffinity.${field}`, `not a CPU list: ${quote(v)}`);
      }
    }
  },
};

const seccomp: SpecRule = {
  name: "seccomp",
  description: "a filter with syscalls has a default action (not SCMP_ACT_NOTIFY); SCMP_ACT_NOTIFY needs a listenerPath",
  check(spec, ctx) {
    const sc = spec.linux?.seccomp;
    if (!sc) return;
    // runc: no default action and no syscalls means "no seccomp".
    if (sc.defaultAction === undefined && sc.syscalls?.length) ctx.fail("linux.seccomp.defaultAction", "is required");
    // The kernel has no user-space listener to ask before the filter exists.
    if (sc.defaultAction === "SCMP_ACT_NOTIFY")
      ctx.fail("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    const notifies = sc.syscalls?.some((s) => s.action === "SCMP_ACT_NOTIFY");
    if (notifies && !sc.listenerPath) ctx.fail("linux.seccomp.listenerPath", "is required when a syscall uses SCMP_ACT_NOTIFY");
  },
};

const intelRdt: SpecRule = {
  name: "intel-rdt",
  description: "intelRdt.closID names a single resctrl directory",
  check(spec, ctx) {
    const id = spec.linux?.intelRdt?.closID;
    if (id === undefined) return;
    // It becomes a directory name under /sys/fs/resctrl.
    if (id === "." || id === ".." || id.includes("/")) ctx.fail("linux.intelRdt.closID", `invalid CLOS id ${quote(id)}`);
  },
};

/** The rules that look at `process` alone, which also apply to `husk exec --process` documents. */
export const PROCESS_RULES: readonly SpecRule[] = [rlimits, capabilities, scheduler, execCPUAffinity];

/** Every rule, in the order validateSpec runs them. */
export const SPEC_RULES: readonly SpecRule[] = [
  mountDestinations,
  bindMountOptions,
  idMappedMounts,
  rlimits,
  capabilities,
  namespacesUnique,
  idMappings,
  userNamespace,
  timeNamespace,
  utsNamespace,
  mountNamespace,
  sysctl,
  devices,
  scheduler,
  execCPUAffinity,
  seccomp,
  intelRdt,
];
