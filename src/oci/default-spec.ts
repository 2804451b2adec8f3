/**
 * The config.json `husk spec` writes: field for field what `runc spec` (1.1.5) writes, with
 * husk's ociVersion. Object keys are built in runc's order (Go struct order), so
 * JSON.stringify(spec, null, "\t") prints byte for byte what runc prints.
 */
import process from "node:process";
import type { Mount, Spec } from "./types.ts";

export const OCI_VERSION = "1.2.0";

export interface DefaultSpecOptions {
  /** `runc spec --rootless`: user namespace mapping the caller, no network namespace, no cgroup limits. */
  rootless?: boolean;
  /** process.args; default ["sh"]. */
  args?: string[];
  /** Host uid/gid mapped to root in rootless mode; default the effective ids of this process (as runc). */
  hostUid?: number;
  hostGid?: number;
}

/** The capabilities runc grants by default: what a shell needs to be useful, nothing more. */
const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function defaultMounts(rootless: boolean): Mount[] {
  // Rootless: there is no group 5 to own the ptys in a user namespace that maps one id, and
  // sysfs cannot be mounted without owning the network namespace, so bind the host's.
  const devptsOptions = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  if (!rootless) devptsOptions.push("gid=5");
  const sys: Mount = rootless
    ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] }
    : { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] };
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: devptsOptions },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    sys,
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

export function defaultSpec(options: DefaultSpecOptions = {}): Spec {
  const rootless = options.rootless ?? false;
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: options.args ? [...options.args] : ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: defaultMounts(rootless),
    linux: rootless
      ? {
          uidMappings: [{ containerID: 0, hostID: options.hostUid ?? process.geteuid?.() ?? 0, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: options.hostGid ?? process.getegid?.() ?? 0, size: 1 }],
          namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }],
          maskedPaths: [...MASKED_PATHS],
          readonlyPaths: [...READONLY_PATHS],
        }
      : {
          resources: { devices: [{ allow: false, access: "rwm" }] },
          namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
          maskedPaths: [...MASKED_PATHS],
          readonlyPaths: [...READONLY_PATHS],
        },
  };
  return spec;
}
