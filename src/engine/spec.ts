/**
 * An image's config and a run's options → the OCI spec the runtime gets, docker's way: the
 * image's Env, Entrypoint, Cmd, WorkingDir and User; docker's default capabilities, masked and
 * read-only paths and mounts; /etc/hosts, /etc/hostname and /etc/resolv.conf bound from the
 * container's directory; volumes, tmpfs, limits. Pure: paths and the resolved user come in.
 */
import { HuskError } from "../errors.ts";
import type { ContainerConfig } from "../image/oci.ts";
import { CAPABILITIES } from "../oci/capabilities.ts";
import { OCI_VERSION } from "../oci/default-spec.ts";
import type {
  LinuxDevice,
  LinuxIDMapping,
  LinuxNamespace,
  LinuxResources,
  LinuxSeccomp,
  Mount,
  POSIXRlimit,
  Spec,
} from "../oci/types.ts";
import type { CheckedRunOptions } from "./options.ts";

/** docker's default capability set (moby's oci/caps/defaults.go). */
export const DOCKER_CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

export const DOCKER_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const DOCKER_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** docker's rule: an entrypoint given replaces the image's and drops its Cmd; args given replace Cmd. */
export function resolveCommand(
  image: ContainerConfig,
  cmd: string[],
  entrypoint?: string[],
): { path: string; args: string[]; entrypoint: string[]; cmd: string[] } {
  const ep = entrypoint ?? image.Entrypoint ?? [];
  const c = cmd.length > 0 ? cmd : entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const argv = [...ep, ...c];
  if (argv.length === 0) throw new HuskError("no command specified (the image has no Cmd or Entrypoint)");
  return { path: argv[0]!, args: argv.slice(1), entrypoint: ep, cmd: c };
}

/** The image's Env, then HOSTNAME, then the caller's; a later NAME replaces an earlier one. PATH always set. */
export function mergeEnv(image: string[] | undefined, hostname: string, extra: string[]): string[] {
  const out = new Map<string, string>();
  const add = (e: string) => {
    const eq = e.indexOf("=");
    out.set(eq < 0 ? e : e.slice(0, eq), e);
  };
  for (const e of image ?? []) add(e);
  if (!out.has("PATH")) add(DEFAULT_PATH);
  add(`HOSTNAME=${hostname}`);
  for (const e of extra) add(e);
  return [...out.values()];
}

/**
 * docker's capability arithmetic: the defaults (or all, privileged), minus drops, plus adds;
 * "ALL" in either. "All" is what the caller can give (its bounding set; by default every
 * capability husk knows), not more: a process cannot hand out what it does not hold.
 */
export function capabilities(
  opts: Pick<CheckedRunOptions, "capAdd" | "capDrop" | "privileged">,
  available: readonly string[] = CAPABILITIES,
): string[] {
  const all = [...available];
  let caps = opts.privileged ? all : DOCKER_CAPS.filter((c) => all.includes(c));
  if (opts.capDrop.includes("ALL")) caps = [];
  else caps = caps.filter((c) => !opts.capDrop.includes(c));
  if (opts.capAdd.includes("ALL")) caps = all;
  else for (const c of opts.capAdd) if (!caps.includes(c)) caps.push(c);
  return caps;
}

export type NetworkNamespace = { kind: "new" } | { kind: "host" } | { kind: "path"; path: string };

export interface SpecInput {
  id: string;
  image: ContainerConfig;
  argv: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  hostname: string;
  /** The mount point of the container's root (the engine's overlay goes there). */
  rootfs: string;
  dnsFiles: { hosts: string; hostname: string; resolvConf: string };
  /** Volumes and tmpfs, in the order given. */
  mounts: Mount[];
  network: NetworkNamespace;
  opts: Pick<
    CheckedRunOptions,
    | "capAdd"
    | "capDrop"
    | "privileged"
    | "readOnly"
    | "memory"
    | "cpus"
    | "pidsLimit"
    | "shmSize"
    | "sysctls"
    | "hostNamespaces"
    | "cpusetCpus"
    | "cpuShares"
    | "oomScoreAdj"
  >;
  /** --device: nodes to make and the device cgroup rules that allow them. */
  devices?: { devices: LinuxDevice[]; rules: NonNullable<LinuxResources["devices"]> };
  /** The cgroup (default the runtime's for the id). */
  cgroupsPath?: string;
  /** The capabilities the caller holds (its bounding set), for "all". */
  available?: readonly string[];
  /** The filter (engine: seccomp-profile.ts for `caps`, or the caller's profile); none if undefined. */
  seccomp?: LinuxSeccomp;
  noNewPrivileges?: boolean;
  rlimits?: POSIXRlimit[];
  /** A user namespace with these maps (both, or neither). */
  idMaps?: { uid: LinuxIDMapping[]; gid: LinuxIDMapping[] };
}

/** docker's /dev/shm: 64 MiB unless --shm-size says otherwise. */
const SHM_SIZE = 64 * 1024 * 1024;

function dockerMounts(privileged: boolean, shmSize = SHM_SIZE, hostIpc = false): Mount[] {
  const ro = privileged ? [] : ["ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", ...ro] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", ...ro],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    // With the host's IPC namespace, the host's /dev/shm (its POSIX shared memory), as docker's --ipc host.
    hostIpc
      ? { destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["rbind", "rprivate", "nosuid", "noexec", "nodev"] }
      : {
          destination: "/dev/shm",
          type: "tmpfs",
          source: "shm",
          options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${Math.ceil(shmSize / 1024)}k`],
        },
  ];
}

function resources(o: SpecInput["opts"], deviceRules: LinuxResources["devices"] = []): LinuxResources {
  const r: LinuxResources = {
    devices: o.privileged ? [{ allow: true, access: "rwm" }] : [{ allow: false, access: "rwm" }, ...deviceRules],
    ...limitResources(o),
  };
  if (o.cpusetCpus !== undefined || o.cpuShares !== undefined)
    r.cpu = {
      ...r.cpu,
      ...(o.cpusetCpus !== undefined ? { cpus: o.cpusetCpus } : {}),
      ...(o.cpuShares !== undefined ? { shares: o.cpuShares } : {}),
    };
  return r;
}

/** --memory, --cpus and --pids-limit as the spec's resources (what `update` writes too). */
export function limitResources(o: { memory?: number; cpus?: number; pidsLimit?: number }): LinuxResources {
  const r: LinuxResources = {};
  if (o.memory !== undefined) r.memory = { limit: o.memory };
  if (o.cpus !== undefined) r.cpu = { quota: Math.round(o.cpus * 100000), period: 100000 };
  if (o.pidsLimit !== undefined) r.pids = { limit: o.pidsLimit };
  return r;
}

export function buildSpec(i: SpecInput): Spec {
  const caps = capabilities(i.opts, i.available);
  const host = i.opts.hostNamespaces;
  const namespaces: LinuxNamespace[] = [
    ...(host.pid ? [] : [{ type: "pid" as const }]),
    ...(host.ipc ? [] : [{ type: "ipc" as const }]),
    ...(host.uts ? [] : [{ type: "uts" as const }]),
    { type: "mount" },
  ];
  if (i.idMaps) namespaces.push({ type: "user" });
  if (i.network.kind === "new") namespaces.push({ type: "network" });
  else if (i.network.kind === "path") namespaces.push({ type: "network", path: i.network.path });
  const bind = (source: string, destination: string): Mount => ({
    destination,
    type: "bind",
    source,
    options: ["rbind", "rprivate"],
  });
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: i.user,
      args: i.argv,
      env: i.env,
      cwd: i.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      ...(i.noNewPrivileges ? { noNewPrivileges: true } : {}),
      ...(i.rlimits?.length ? { rlimits: i.rlimits } : {}),
      ...(i.opts.oomScoreAdj !== undefined ? { oomScoreAdj: i.opts.oomScoreAdj } : {}),
    },
    root: { path: i.rootfs, readonly: i.opts.readOnly },
    ...(i.network.kind === "host" || host.uts ? {} : { hostname: i.hostname }),
    mounts: [
      ...dockerMounts(i.opts.privileged, i.opts.shmSize, host.ipc),
      bind(i.dnsFiles.resolvConf, "/etc/resolv.conf"),
      bind(i.dnsFiles.hostname, "/etc/hostname"),
      bind(i.dnsFiles.hosts, "/etc/hosts"),
      ...i.mounts,
    ],
    linux: {
      namespaces,
      ...(i.idMaps ? { uidMappings: i.idMaps.uid, gidMappings: i.idMaps.gid } : {}),
      resources: resources(i.opts, i.devices?.rules),
      ...(i.devices ? { devices: i.devices.devices } : {}),
      ...(Object.keys(i.opts.sysctls).length > 0 ? { sysctl: i.opts.sysctls } : {}),
      ...(i.seccomp ? { seccomp: i.seccomp } : {}),
      ...(i.cgroupsPath ? { cgroupsPath: i.cgroupsPath } : {}),
      maskedPaths: i.opts.privileged ? [] : [...DOCKER_MASKED_PATHS],
      readonlyPaths: i.opts.privileged ? [] : [...DOCKER_READONLY_PATHS],
    },
  };
}

/** The spec mounts of volumes (host paths already resolved) and tmpfs. */
export function volumeMounts(
  volumes: { hostPath: string; target: string; readOnly?: boolean }[],
  tmpfs: { target: string; options?: string }[],
): Mount[] {
  return [
    ...volumes.map((v) => ({
      destination: v.target,
      type: "bind",
      source: v.hostPath,
      options: ["rbind", "rprivate", v.readOnly ? "ro" : "rw"],
    })),
    ...tmpfs.map((t) => ({
      destination: t.target,
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "nodev", "noexec", ...(t.options ? t.options.split(",").filter(Boolean) : [])],
    })),
  ];
}
