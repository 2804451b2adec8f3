/**
 * What a caller asks of `run`: the typed options of the library (the CLI's flags become these),
 * checked before anything is made. Every wrong type or value is a HuskError naming the option
 * (`RunOptions.memory: …`), so a JavaScript caller learns what is wrong and nothing is created.
 * Docker's string forms ("512m", "8080:80/udp", "name:/data:ro") are parsed here too. Pure.
 */
import { HuskError, quote } from "../errors.ts";
import { CAPABILITIES } from "../oci/capabilities.ts";
import { parseSignal } from "../runtime/signals.ts";
import { parseRestartPolicy, type RestartPolicy } from "./restart-policy.ts";
import { type CheckedSecurity, checkSecurity, type IdMapping, type Ulimit } from "./security.ts";

export type { IdMapping, Ulimit };

export interface VolumeSpec {
  /** A host path (absolute) or a named volume; "" or absent: an anonymous volume (docker's `-v /path`). */
  source?: string;
  /** Absolute path in the container. */
  target: string;
  readOnly?: boolean;
}

export interface TmpfsSpec {
  target: string;
  /** Mount options as `mount -o` takes them: "size=64m,mode=1777". */
  options?: string;
}

/** A host device made in the container (docker's --device HOST[:CONTAINER][:PERMISSIONS]). */
export interface DeviceSpec {
  /** The device node on the host. */
  path: string;
  /** Its path in the container (default the same). */
  target?: string;
  /** What the device cgroup allows: some of r, w, m (default "rwm"). */
  permissions?: string;
}

export interface PortSpec {
  containerPort: number;
  /** Default: a free port picked by the kernel. */
  hostPort?: number;
  /** Default every host address. */
  hostIp?: string;
  proto?: "tcp" | "udp";
}

/** What `run` and `start` take. */
export interface RunOptions {
  /** A name unique among the engine's containers (default: none; the id names it). */
  name?: string;
  /** Replaces the image's Entrypoint (the image's Cmd is then not used). */
  entrypoint?: string | string[];
  /** Added to (and overriding) the image's Env: "K=V" strings or an object. */
  env?: string[] | Record<string, string>;
  /** Working directory (default the image's WorkingDir, else /). */
  cwd?: string;
  /** "uid", "uid:gid", "name" or "name:group" (default the image's User, else root). */
  user?: string;
  /** "/host:/path[:ro]", "volume:/path[:ro]" or VolumeSpec. */
  volumes?: (string | VolumeSpec)[];
  /** "/path[:options]" or TmpfsSpec. */
  tmpfs?: (string | TmpfsSpec)[];
  /** "[[ip:]hostPort:]containerPort[/proto]" or PortSpec; bridge networks only. */
  ports?: (string | PortSpec)[];
  /** "bridge" (default), "none", "host", "ns:/path/to/netns", "container:NAME" (another running container's namespace, hostname and /etc files) or a network's name. */
  network?: string;
  /** More names the other containers on a user network resolve to this one (docker's --network-alias). */
  networkAliases?: string[];
  /** Lines for /etc/hosts: "name:address" ("host-gateway": the network's gateway). */
  addHosts?: string[];
  /** Nameservers for /etc/resolv.conf instead of the host's. */
  dns?: string[];
  /** Search domains for /etc/resolv.conf ("." alone: none). */
  dnsSearch?: string[];
  /** resolv.conf options ("ndots:2", "timeout:1" …). */
  dnsOptions?: string[];
  /** Bytes, or docker's "512m", "1g" … */
  memory?: number | string;
  /** CPUs (fractions allowed): 0.5 is half a CPU's time. */
  cpus?: number | string;
  pidsLimit?: number;
  capabilities?: { add?: string[]; drop?: string[] };
  /** Every capability, no masked or read-only paths, every device allowed. */
  privileged?: boolean;
  /** The root filesystem read-only (volumes, tmpfs and /etc/hosts … stay writable). */
  readOnly?: boolean;
  /**
   * docker's --security-opt strings: "seccomp=unconfined", "seccomp=/path/profile.json",
   * "no-new-privileges[=true|false]"; "apparmor=…" and "label=…" are accepted with a warning
   * (this host has neither AppArmor nor SELinux).
   */
  securityOpt?: string[];
  /**
   * The seccomp filter: "default" (docker's default profile, adapted to the capabilities),
   * "unconfined" (none), an absolute path to a docker/OCI JSON profile, or such a profile as an
   * object. Privileged containers get none unless a profile is given.
   */
  seccomp?: "default" | "unconfined" | string | Record<string, unknown>;
  /** The process cannot gain privileges by exec (setuid binaries, file capabilities). */
  noNewPrivileges?: boolean;
  /** docker's --ulimit: "nofile=1024:2048" or {name, soft, hard}; none by default, as docker. */
  ulimits?: (string | Ulimit)[];
  /** A user namespace with these uid ranges: "CONTAINER:HOST:COUNT" or IdMapping (podman's --uidmap). */
  uidMap?: (string | IdMapping)[];
  /** Its gid ranges (default: the same as uidMap). */
  gidMap?: (string | IdMapping)[];
  /** A minimal init as PID 1 that forwards signals and reaps zombies; the command is its child. */
  init?: boolean;
  hostname?: string;
  /** Host devices in the container: "/dev/fuse", "/dev/sdb:/dev/xvdb:r" or DeviceSpec. */
  devices?: (string | DeviceSpec)[];
  /** /dev/shm's size: bytes or "128m" (default 64m). */
  shmSize?: number | string;
  /** Namespaced sysctls: an object, or "name=value" strings (docker's --sysctl). */
  sysctls?: Record<string, string> | string[];
  /** "host": the host's pid namespace instead of one of its own (docker's --pid). */
  pid?: "host" | "private";
  /** "host": the host's IPC namespace and /dev/shm (docker's --ipc). */
  ipc?: "host" | "private";
  /** "host": the host's UTS namespace, so its hostname (docker's --uts). */
  uts?: "host" | "private";
  /** More groups for the process: group names from the image's /etc/group, or gids. */
  groupAdd?: (string | number)[];
  /** The CPUs it may run on: "0-2", "0,3". */
  cpusetCpus?: string;
  /** Its CPU weight against other containers (cgroup v1 shares; default 1024). */
  cpuShares?: number;
  /** The OOM killer's preference, -1000 to 1000. */
  oomScoreAdj?: number;
  /** More ports the container listens on, for publishAll: 80, "53/udp". */
  expose?: (string | number)[];
  /** Publish every exposed port (the image's and expose) on a random host port (docker's -P). */
  publishAll?: boolean;
  /** Labels over the image's: an object, or "key=value" strings (docker's --label). */
  labels?: Record<string, string> | string[];
  /**
   * Start it again when it ends (detached containers): "no" (default), "always",
   * "unless-stopped", "on-failure[:N]" (docker's --restart); see restart-policy.ts.
   */
  restart?: string;
  /** What `stop` sends first (default the image's StopSignal, else SIGTERM): a name or a number. */
  stopSignal?: string | number;
  /** How long `stop` waits before SIGKILL, in seconds (default 10; docker's --stop-timeout). */
  stopTimeout?: number;
  /** Remove the container once it exits (run: default true; start: default false). */
  remove?: boolean;
  /** Kill the container after this long; the call rejects with a TimeoutError. */
  timeoutMs?: number;
  /** Kill the container when aborted; the call rejects with an AbortError. */
  signal?: AbortSignal;
  /** The container's standard input (run only; default none). */
  stdin?: string | Uint8Array | AsyncIterable<Uint8Array | string>;
  /** "buffer": stdout and stderr as Buffers instead of strings. */
  output?: "string" | "buffer";
}

export interface CheckedRunOptions {
  name?: string;
  entrypoint?: string[];
  env: string[];
  cwd?: string;
  user?: string;
  volumes: CheckedVolume[];
  tmpfs: TmpfsSpec[];
  ports: Required<PortSpec>[];
  network: string;
  networkAliases: string[];
  addHosts: { names: string[]; address: string }[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  readOnly: boolean;
  init: boolean;
  security: CheckedSecurity;
  hostname?: string;
  devices: Required<DeviceSpec>[];
  shmSize?: number;
  sysctls: Record<string, string>;
  /** Namespaces shared with the host instead of made. */
  hostNamespaces: { pid: boolean; ipc: boolean; uts: boolean };
  groupAdd: string[];
  cpusetCpus?: string;
  cpuShares?: number;
  oomScoreAdj?: number;
  expose: { containerPort: number; proto: "tcp" | "udp" }[];
  publishAll: boolean;
  labels: Record<string, string>;
  restart?: RestartPolicy;
  stopSignal?: string;
  stopTimeout?: number;
  remove?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  stdin?: string | Uint8Array | AsyncIterable<Uint8Array | string>;
  output: "string" | "buffer";
}

/** An error naming `<kind>.<option>` (RunOptions.memory …), or the option alone when kind is "". */
const bad = (option: string, message: string, kind = "RunOptions") =>
  new HuskError(message, { origin: kind ? `${kind}.${option}` : option });

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw bad(key, `must be a string, not ${typeName(v)}`);
  return v;
}

function strList(v: unknown, option: string): string[] {
  if (!Array.isArray(v)) throw bad(option, `must be an array of strings, not ${typeName(v)}`);
  for (const [i, s] of v.entries())
    if (typeof s !== "string") throw bad(`${option}[${i}]`, `must be a string, not ${typeName(s)}`);
  return v as string[];
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Docker's container name rule. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkName(name: unknown, option = "name", kind = "RunOptions"): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name) || name.length > 128)
    throw bad(option, `invalid container name ${quote(String(name))}: letters, digits, "_", "." and "-", not first`, kind);
  return name;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** docker's memory values: a byte count with an optional unit (b, k, m, g, t; "kb", "mib"… too). */
export function parseBytes(value: number | string, option = "memory", kind = "RunOptions"): number {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw bad(option, `invalid size ${value}: a positive whole number of bytes`, kind);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) throw bad(option, `invalid size ${quote(value)}: a number with an optional unit (b, k, m, g)`, kind);
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad(option, `invalid size ${quote(value)}`, kind);
  return bytes;
}

export function parseCpus(value: number | string, kind = "RunOptions"): number {
  const n = typeof value === "number" ? value : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw bad("cpus", `invalid CPU count ${quote(String(value))}: a positive number`, kind);
  if (n < 0.01) throw bad("cpus", `invalid CPU count ${n}: at least 0.01`, kind);
  return n;
}

function parsePortNumber(text: string, option: string, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad(option, `invalid ${what} ${quote(text)}: 1 to 65535`);
  return n;
}

/** "[[ip:]hostPort:]containerPort[/proto]" as `docker run -p` takes it. */
export function parsePort(value: string | PortSpec, option = "ports"): Required<PortSpec> {
  if (typeof value !== "string") {
    if (!isObject(value)) throw bad(option, `must be a string or a PortSpec, not ${typeName(value)}`);
    const proto = value.proto ?? "tcp";
    if (proto !== "tcp" && proto !== "udp") throw bad(option, `invalid protocol ${quote(String(proto))}: tcp or udp`);
    const cp = value.containerPort;
    if (typeof cp !== "number" || !Number.isInteger(cp) || cp < 1 || cp > 65535) throw bad(option, "containerPort: 1 to 65535");
    const hp = value.hostPort ?? 0;
    if (typeof hp !== "number" || !Number.isInteger(hp) || hp < 0 || hp > 65535) throw bad(option, "hostPort: 0 to 65535");
    if (value.hostIp !== undefined && typeof value.hostIp !== "string") throw bad(option, "hostIp: must be a string");
    return { containerPort: cp, hostPort: hp, hostIp: value.hostIp ?? "", proto };
  }
  const [spec, protoText, extra] = value.split("/");
  if (extra !== undefined || spec === undefined || spec === "") throw bad(option, `invalid port ${quote(value)}`);
  const proto = protoText ?? "tcp";
  if (proto !== "tcp" && proto !== "udp") throw bad(option, `invalid protocol ${quote(proto)} in ${quote(value)}: tcp or udp`);
  const parts = spec.split(":");
  if (parts.length > 3) throw bad(option, `invalid port ${quote(value)}: [[ip:]hostPort:]containerPort[/proto]`);
  const containerPort = parsePortNumber(parts[parts.length - 1]!, option, "container port");
  const hostText = parts.length >= 2 ? parts[parts.length - 2]! : "";
  const hostPort = hostText === "" ? 0 : parsePortNumber(hostText, option, "host port");
  const hostIp = parts.length === 3 ? parts[0]! : "";
  if (hostIp !== "" && !/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp)) throw bad(option, `invalid host address ${quote(hostIp)}: IPv4`);
  return { containerPort, hostPort, hostIp, proto };
}

/** A volume as checked: source "" for an anonymous one. */
export type CheckedVolume = Required<VolumeSpec>;

/** "source:/target[:ro|rw]" (source: an absolute host path or a volume name), "/target" (anonymous), or a VolumeSpec. */
export function parseVolume(value: string | VolumeSpec, option = "volumes"): CheckedVolume {
  let v: CheckedVolume;
  if (typeof value === "string") {
    const parts = value.split(":");
    if (parts.length === 1 && value.startsWith("/")) return { source: "", target: value, readOnly: false }; // anonymous
    if (parts.length < 2 || parts.length > 3) throw bad(option, `invalid volume ${quote(value)}: source:/path[:ro] or /path`);
    const mode = parts[2];
    if (mode !== undefined && mode !== "ro" && mode !== "rw")
      throw bad(option, `invalid volume mode ${quote(mode)} in ${quote(value)}: ro or rw`);
    v = { source: parts[0]!, target: parts[1]!, readOnly: mode === "ro" };
  } else {
    if (!isObject(value) || (value.source !== undefined && typeof value.source !== "string") || typeof value.target !== "string")
      throw bad(option, "must be a string or {source?, target, readOnly?}");
    if (value.readOnly !== undefined && typeof value.readOnly !== "boolean") throw bad(option, "readOnly: must be a boolean");
    v = { source: value.source ?? "", target: value.target, readOnly: value.readOnly === true };
  }
  if (!v.target.startsWith("/")) throw bad(option, `invalid volume target ${quote(v.target)}: an absolute path`);
  if (v.source === "") return v; // anonymous
  if (!v.source.startsWith("/") && !NAME_PATTERN.test(v.source))
    throw bad(option, `invalid volume source ${quote(v.source)}: an absolute host path or a volume name`);
  return v;
}

export function parseTmpfs(value: string | TmpfsSpec, option = "tmpfs"): TmpfsSpec {
  const t =
    typeof value === "string"
      ? { target: value.split(":")[0]!, options: value.includes(":") ? value.slice(value.indexOf(":") + 1) : undefined }
      : value;
  if (!isObject(t) || typeof t.target !== "string" || (t.options !== undefined && typeof t.options !== "string"))
    throw bad(option, "must be a string or {target, options}");
  if (!t.target.startsWith("/")) throw bad(option, `invalid tmpfs target ${quote(t.target)}: an absolute path`);
  return { target: t.target, options: t.options };
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;

/** "name:address" as `docker run --add-host` takes it (the address may be IPv6: split at the first ":"). */
export function parseAddHost(value: string, option = "addHosts"): { names: string[]; address: string } {
  const i = value.search(/[:=]/);
  const name = i < 0 ? "" : value.slice(0, i);
  const address = i < 0 ? "" : value.slice(i + 1).replace(/^\[(.*)\]$/, "$1");
  if (!HOST_NAME.test(name)) throw bad(option, `invalid extra host ${quote(value)}: NAME:IP`);
  if (address !== "host-gateway" && isIP(address) === 0)
    throw bad(option, `invalid extra host ${quote(value)}: ${quote(address)} is not an IP address (or host-gateway)`);
  return { names: [name], address };
}

/** A capability as docker takes it: "NET_ADMIN", "cap_net_admin", or "ALL". */
export function capabilityName(name: string, option: string): string {
  if (name.toUpperCase() === "ALL") return "ALL";
  const full = name.toUpperCase().startsWith("CAP_") ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
  if (!(CAPABILITIES as readonly string[]).includes(full)) throw bad(option, `unknown capability ${quote(name)}`);
  return full;
}

/** Env entries from "K=V" strings or an object; a bare "K" is not allowed here (the CLI resolves it). */
export function envList(v: unknown, option = "env"): string[] {
  if (isObject(v)) {
    return Object.entries(v).map(([k, val]) => {
      if (typeof val !== "string") throw bad(`${option}.${k}`, `must be a string, not ${typeName(val)}`);
      return `${k}=${val}`;
    });
  }
  const list = strList(v, option);
  for (const e of list) if (!/^[^=]+=/.test(e)) throw bad(option, `invalid environment entry ${quote(e)}: NAME=value`);
  return list;
}

const KEYS = new Set([
  "name",
  "entrypoint",
  "env",
  "cwd",
  "user",
  "volumes",
  "tmpfs",
  "ports",
  "network",
  "networkAliases",
  "addHosts",
  "dns",
  "dnsSearch",
  "dnsOptions",
  "memory",
  "cpus",
  "pidsLimit",
  "capabilities",
  "privileged",
  "readOnly",
  "securityOpt",
  "seccomp",
  "noNewPrivileges",
  "ulimits",
  "uidMap",
  "gidMap",
  "init",
  "hostname",
  "labels",
  "devices",
  "shmSize",
  "sysctls",
  "pid",
  "ipc",
  "uts",
  "groupAdd",
  "cpusetCpus",
  "cpuShares",
  "oomScoreAdj",
  "expose",
  "publishAll",
  "restart",
  "stopSignal",
  "stopTimeout",
  "remove",
  "timeoutMs",
  "signal",
  "stdin",
  "output",
]);

/** Check every option's type and value; nothing is looked up or made here. */
export function checkRunOptions(input: unknown): CheckedRunOptions {
  if (input === undefined) input = {};
  if (!isObject(input)) throw new HuskError(`must be an object, not ${typeName(input)}`, { origin: "RunOptions" });
  const o = input;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw bad(k, "unknown option");
  const name = str(o, "name");
  if (name !== undefined) checkName(name);
  let entrypoint: string[] | undefined;
  if (o.entrypoint !== undefined) {
    entrypoint =
      typeof o.entrypoint === "string" ? (o.entrypoint === "" ? [] : [o.entrypoint]) : strList(o.entrypoint, "entrypoint");
  }
  const cwd = str(o, "cwd");
  if (cwd !== undefined && !cwd.startsWith("/")) throw bad("cwd", `must be an absolute path: ${quote(cwd)}`);
  const user = str(o, "user");
  if (user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(user)) throw bad("user", `invalid user ${quote(user)}`);
  const network = str(o, "network") ?? "bridge";
  if (network === "") throw bad("network", "must not be empty");
  const strings = (key: string) => (o[key] === undefined ? undefined : strList(o[key], key));
  const networkAliases = strings("networkAliases") ?? [];
  for (const a of networkAliases) if (!HOST_NAME.test(a)) throw bad("networkAliases", `invalid alias ${quote(a)}`);
  if (
    networkAliases.length > 0 &&
    (["bridge", "default", "none", "host"].includes(network) || network.startsWith("ns:") || network.startsWith("container:"))
  )
    throw bad("networkAliases", "network-scoped aliases are only for containers on a user-created network");
  const addHosts = (strings("addHosts") ?? []).map((h) => parseAddHost(h));
  const dns = strings("dns");
  for (const d of dns ?? []) if (isIP(d) === 0) throw bad("dns", `invalid DNS server ${quote(d)}: an IP address`);
  let dnsSearch = strings("dnsSearch");
  for (const d of dnsSearch ?? [])
    if (d !== "." && !/^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/.test(d))
      throw bad("dnsSearch", `invalid search domain ${quote(d)}`);
  if (dnsSearch?.includes(".")) dnsSearch = [];
  const dnsOptions = strings("dnsOptions");
  for (const d of dnsOptions ?? [])
    if (!/^[A-Za-z0-9_-]+(:[0-9]+)?$/.test(d)) throw bad("dnsOptions", `invalid resolver option ${quote(d)}: such as ndots:2`);
  const hostname = str(o, "hostname");
  if (hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname))
    throw bad("hostname", `invalid hostname ${quote(hostname)}`);
  const list = (key: string) => (o[key] === undefined ? [] : Array.isArray(o[key]) ? (o[key] as unknown[]) : [o[key]]);
  const volumes = list("volumes").map((v, i) => parseVolume(v as string | VolumeSpec, `volumes[${i}]`));
  const tmpfs = list("tmpfs").map((t, i) => parseTmpfs(t as string | TmpfsSpec, `tmpfs[${i}]`));
  const ports = list("ports").map((p, i) => parsePort(p as string | PortSpec, `ports[${i}]`));
  if (
    ports.length > 0 &&
    (network === "none" || network === "host" || network.startsWith("ns:") || network.startsWith("container:"))
  )
    throw bad("ports", `cannot publish ports with network ${quote(network)}`);
  const { memory, cpus, pidsLimit } = checkLimits(o);
  let capAdd: string[] = [];
  let capDrop: string[] = [];
  if (o.capabilities !== undefined) {
    if (!isObject(o.capabilities)) throw bad("capabilities", "must be {add?, drop?}");
    const c = o.capabilities;
    capAdd = c.add === undefined ? [] : strList(c.add, "capabilities.add").map((n) => capabilityName(n, "capabilities.add"));
    capDrop = c.drop === undefined ? [] : strList(c.drop, "capabilities.drop").map((n) => capabilityName(n, "capabilities.drop"));
  }
  const bool = (key: string) => {
    if (o[key] !== undefined && typeof o[key] !== "boolean") throw bad(key, `must be a boolean, not ${typeName(o[key])}`);
    return o[key] as boolean | undefined;
  };
  let timeoutMs: number | undefined;
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== "number" || !(o.timeoutMs > 0) || !Number.isFinite(o.timeoutMs))
      throw bad("timeoutMs", `must be a positive number of milliseconds, not ${JSON.stringify(o.timeoutMs)}`);
    timeoutMs = o.timeoutMs;
  }
  const signal = o.signal;
  if (
    signal !== undefined &&
    !(typeof signal === "object" && signal !== null && "aborted" in signal && "addEventListener" in signal)
  )
    throw bad("signal", "must be an AbortSignal");
  const stdin = o.stdin;
  if (
    stdin !== undefined &&
    typeof stdin !== "string" &&
    !(stdin instanceof Uint8Array) &&
    !(typeof stdin === "object" && stdin !== null && Symbol.asyncIterator in stdin)
  )
    throw bad("stdin", "must be a string, a Buffer or a readable stream");
  const output = o.output ?? "string";
  if (output !== "string" && output !== "buffer") throw bad("output", 'must be "string" or "buffer"');
  let stopSignal: string | undefined;
  if (o.stopSignal !== undefined) {
    if (typeof o.stopSignal !== "string" && typeof o.stopSignal !== "number")
      throw bad("stopSignal", `must be a signal name or number, not ${typeName(o.stopSignal)}`);
    stopSignal = checkSignal(String(o.stopSignal), "stopSignal");
  }
  const hostNs = (key: "pid" | "ipc" | "uts") => {
    const v = o[key];
    if (v !== undefined && v !== "host" && v !== "private")
      throw bad(key, `must be "host" or "private", not ${JSON.stringify(v)}`);
    return v === "host";
  };
  const integer = (key: string, min: number, max: number) => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw bad(key, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
    return v;
  };
  const cpusetCpus = str(o, "cpusetCpus");
  if (cpusetCpus !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpusetCpus))
    throw bad("cpusetCpus", `invalid CPU list ${quote(cpusetCpus)}: such as 0-2 or 0,3`);
  const groupAdd = list("groupAdd").map((g) => {
    if (typeof g === "number" && Number.isInteger(g) && g >= 0 && g < 0xffffffff) return String(g);
    if (typeof g === "string" && /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(g)) return g;
    throw bad("groupAdd", `invalid group ${quote(String(g))}: a name or a gid`);
  });
  const expose = list("expose").map((e) => parseExpose(e));
  let stopTimeout: number | undefined;
  if (o.stopTimeout !== undefined) {
    if (typeof o.stopTimeout !== "number" || !Number.isInteger(o.stopTimeout) || o.stopTimeout < 0)
      throw bad("stopTimeout", `must be a whole number of seconds, not ${JSON.stringify(o.stopTimeout)}`);
    stopTimeout = o.stopTimeout;
  }
  return {
    name,
    entrypoint,
    env: o.env === undefined ? [] : envList(o.env),
    cwd,
    user,
    volumes,
    tmpfs,
    ports,
    network,
    networkAliases,
    addHosts,
    dns,
    dnsSearch,
    dnsOptions,
    memory,
    cpus,
    pidsLimit,
    capAdd,
    capDrop,
    privileged: bool("privileged") ?? false,
    readOnly: bool("readOnly") ?? false,
    init: bool("init") ?? false,
    security: checkSecurity(o),
    hostname,
    devices: list("devices").map((d, i) => parseDevice(d, `devices[${i}]`)),
    shmSize: o.shmSize === undefined ? undefined : parseBytes(o.shmSize as number | string, "shmSize"),
    sysctls: o.sysctls === undefined ? {} : labelMap(o.sysctls, "sysctls", "sysctl"),
    hostNamespaces: { pid: hostNs("pid"), ipc: hostNs("ipc"), uts: hostNs("uts") },
    groupAdd,
    cpusetCpus,
    cpuShares: integer("cpuShares", 2, 262144),
    oomScoreAdj: integer("oomScoreAdj", -1000, 1000),
    expose,
    publishAll: bool("publishAll") ?? false,
    labels: o.labels === undefined ? {} : labelMap(o.labels),
    restart: o.restart === undefined ? undefined : parseRestartPolicy(o.restart),
    stopSignal,
    stopTimeout,
    remove: bool("remove"),
    timeoutMs,
    signal: signal as AbortSignal | undefined,
    stdin: stdin as CheckedRunOptions["stdin"],
    output,
  };
}

/** "HOST[:CONTAINER][:PERMISSIONS]" (docker's --device) or a DeviceSpec; the host path is checked when the container is made. */
export function parseDevice(value: unknown, option = "devices"): Required<DeviceSpec> {
  let d: DeviceSpec;
  if (typeof value === "string") {
    const parts = value.split(":");
    if (parts.length > 3 || parts[0] === "") throw bad(option, `invalid device ${quote(value)}: HOST[:CONTAINER][:PERMISSIONS]`);
    // The last part is permissions when it is not a path: /dev/fuse:rw.
    const perms = parts.length > 1 && !parts[parts.length - 1]!.startsWith("/") ? parts.pop() : undefined;
    d = { path: parts[0]!, target: parts[1], permissions: perms };
  } else if (isObject(value) && typeof value.path === "string") {
    d = value as unknown as DeviceSpec;
  } else throw bad(option, "must be a string or {path, target?, permissions?}");
  const target = d.target ?? d.path;
  const permissions = d.permissions ?? "rwm";
  if (!d.path.startsWith("/") || typeof target !== "string" || !target.startsWith("/"))
    throw bad(option, `invalid device ${quote(d.path)}: absolute paths`);
  if (typeof permissions !== "string" || !/^(?!.*(.).*\1)[rwm]{1,3}$/.test(permissions))
    throw bad(option, `invalid device permissions ${quote(String(permissions))}: some of r, w, m`);
  return { path: d.path, target, permissions };
}

/**
 * A container port as docker writes one: "80", "80/tcp", "53/udp"; a port from 1 to 65535 and
 * its protocol (tcp when none is named), or undefined for anything else. --expose, an image's
 * ExposedPorts and `husk port`'s filter are read by it.
 */
export function portAndProto(text: string): { port: number; proto: "tcp" | "udp" } | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  const port = m ? Number(m[1]) : 0;
  if (!m || port < 1 || port > 65535) return undefined;
  return { port, proto: (m[2] as "tcp" | "udp" | undefined) ?? "tcp" };
}

/** docker's --expose: "80", "53/udp", or a number. */
function parseExpose(value: unknown): { containerPort: number; proto: "tcp" | "udp" } {
  const p = typeof value === "string" || typeof value === "number" ? portAndProto(String(value)) : undefined;
  if (!p) throw bad("expose", `invalid port ${quote(String(value))}: PORT or PORT/udp`);
  return { containerPort: p.port, proto: p.proto };
}

/** docker's --label values: "key=value" ("key" alone: an empty value) or an object of strings. */
export function labelMap(value: unknown, option = "labels", noun = "label"): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== "string" || item === "" || item.startsWith("="))
        throw bad(option, `invalid ${noun} ${quote(String(item))}: key=value`);
      const at = item.indexOf("=");
      out[at < 0 ? item : item.slice(0, at)] = at < 0 ? "" : item.slice(at + 1);
    }
    return out;
  }
  if (!isObject(value)) throw bad(option, `must be an object or "key=value" strings, not ${typeName(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (k === "" || typeof v !== "string") throw bad(option, `invalid ${noun} ${quote(k)}: a string value`);
    out[k] = v;
  }
  return out;
}

/** A signal as `stop` sends it: "SIGQUIT" for quit, QUIT or SIGQUIT, a number as it is; undefined if unknown (or 0). */
export function stopSignalText(text: string): string | undefined {
  try {
    if (parseSignal(text) === 0) return undefined;
  } catch {
    return undefined;
  }
  const upper = text.toUpperCase();
  return /^\d+$/.test(text) ? text : upper.startsWith("SIG") ? upper : `SIG${upper}`;
}

function checkSignal(text: string, option: string): string {
  const signal = stopSignalText(text);
  if (signal === undefined) throw bad(option, `unknown signal ${quote(text)}`);
  return signal;
}

/** The resource limits a container runs with, and `update` changes. */
export interface Limits {
  /** Bytes, or docker's "512m". */
  memory?: number | string;
  /** CPUs, e.g. 0.5. */
  cpus?: number | string;
  /** Most processes; -1 for no limit. */
  pidsLimit?: number;
}

/** memory, cpus and pidsLimit checked; errors name `<kind>.<option>` (RunOptions.memory …). */
export function checkLimits(
  o: Record<string, unknown>,
  kind = "RunOptions",
): { memory?: number; cpus?: number; pidsLimit?: number } {
  const memory = o.memory === undefined ? undefined : parseBytesChecked(o.memory, kind);
  const cpus = o.cpus === undefined ? undefined : parseCpusChecked(o.cpus, kind);
  let pidsLimit: number | undefined;
  if (o.pidsLimit !== undefined) {
    if (typeof o.pidsLimit !== "number" || !Number.isInteger(o.pidsLimit) || o.pidsLimit === 0)
      throw bad("pidsLimit", `must be a whole number (-1: unlimited), not ${JSON.stringify(o.pidsLimit)}`, kind);
    pidsLimit = o.pidsLimit;
  }
  return { memory, cpus, pidsLimit };
}

function parseBytesChecked(v: unknown, kind: string): number {
  if (typeof v !== "number" && typeof v !== "string")
    throw bad("memory", `must be a number or a string, not ${typeName(v)}`, kind);
  const n = parseBytes(v, "memory", kind);
  // Below this the container cannot even start (docker's minimum is 6 MiB).
  if (n < 6 * 1024 * 1024) throw bad("memory", `minimum memory limit is 6 MiB, got ${n} bytes`, kind);
  return n;
}

function parseCpusChecked(v: unknown, kind: string): number {
  if (typeof v !== "number" && typeof v !== "string") throw bad("cpus", `must be a number or a string, not ${typeName(v)}`, kind);
  return parseCpus(v, kind);
}

/** node:net's isIP, loaded only for the options that name an address. */
function isIP(address: string): number {
  return (process.getBuiltinModule("node:net") as typeof import("node:net")).isIP(address);
}
