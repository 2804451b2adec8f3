/**
 * The security options of `run`, checked: docker's `--security-opt` strings (seccomp=…,
 * no-new-privileges, apparmor=…, label=…), `--ulimit NAME=SOFT[:HARD]`, podman's
 * `--uidmap/--gidmap CONTAINER:HOST:COUNT` — and their typed twins (`seccomp`,
 * `noNewPrivileges`, `ulimits`, `uidMap`, `gidMap`). Pure: a seccomp profile file is only named
 * here; the engine reads it (seccomp-docker.ts converts it).
 */
import { HuskError, quote } from "../errors.ts";
import type { RlimitName } from "../oci/rlimits.ts";
import type { LinuxIDMapping } from "../oci/types.ts";

/** Which seccomp filter: docker's default, none, a profile file, or a profile object (docker's format). */
export type SeccompChoice =
  | { kind: "default" }
  | { kind: "unconfined" }
  | { kind: "file"; path: string }
  | { kind: "profile"; profile: unknown };

export interface Ulimit {
  /** docker's name: "nofile", "nproc", "core" … */
  name: string;
  /** -1 or Infinity: unlimited. */
  soft: number;
  /** Default the soft limit. */
  hard?: number;
}

export interface IdMapping {
  containerId: number;
  hostId: number;
  size: number;
}

export interface CheckedSecurity {
  seccomp: SeccompChoice;
  noNewPrivileges: boolean;
  /** The OCI form: RLIMIT_* type, soft and hard (2^64 for unlimited), with the name the caller used. */
  ulimits: { type: RlimitName; soft: number; hard: number; name: string }[];
  uidMap: LinuxIDMapping[];
  gidMap: LinuxIDMapping[];
  /** AppArmor and SELinux options: accepted, and said not to apply on this host. */
  warnings: string[];
}

const bad = (option: string, message: string) => new HuskError(message, { origin: `RunOptions.${option}` });

/** docker's ulimit names (go-units) → RLIMIT_*. */
export const ULIMITS: Readonly<Record<string, RlimitName>> = {
  as: "RLIMIT_AS",
  core: "RLIMIT_CORE",
  cpu: "RLIMIT_CPU",
  data: "RLIMIT_DATA",
  fsize: "RLIMIT_FSIZE",
  locks: "RLIMIT_LOCKS",
  memlock: "RLIMIT_MEMLOCK",
  msgqueue: "RLIMIT_MSGQUEUE",
  nice: "RLIMIT_NICE",
  nofile: "RLIMIT_NOFILE",
  nproc: "RLIMIT_NPROC",
  rss: "RLIMIT_RSS",
  rtprio: "RLIMIT_RTPRIO",
  rttime: "RLIMIT_RTTIME",
  sigpending: "RLIMIT_SIGPENDING",
  stack: "RLIMIT_STACK",
};

/** RLIM_INFINITY as the OCI spec's uint64 holds it once parsed (oci/rlimits.ts). */
const INFINITY = 2 ** 64;

function limitValue(v: unknown, option: string, what: string): number {
  if (v === "unlimited" || v === -1 || v === "-1" || v === Number.POSITIVE_INFINITY) return INFINITY;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
    throw bad(option, `invalid ${what} ${quote(String(v))}: a whole number, -1 or "unlimited"`);
  return n;
}

/** "nofile=1024:2048", "nofile=1024" or {name, soft, hard}. */
export function parseUlimit(value: unknown, option: string): CheckedSecurity["ulimits"][number] {
  let name: string;
  let soft: unknown;
  let hard: unknown;
  if (typeof value === "string") {
    const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(value);
    if (!m) throw bad(option, `invalid ulimit ${quote(value)}: NAME=SOFT[:HARD]`);
    [, name, soft, hard] = m as unknown as [string, string, string, string | undefined];
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const u = value as Record<string, unknown>;
    if (typeof u.name !== "string") throw bad(option, "must be NAME=SOFT[:HARD] or {name, soft, hard?}");
    ({ name, soft, hard } = u as { name: string; soft: unknown; hard: unknown });
  } else {
    throw bad(option, "must be NAME=SOFT[:HARD] or {name, soft, hard?}");
  }
  const type = Object.hasOwn(ULIMITS, name) ? ULIMITS[name]! : undefined;
  if (!type) throw bad(option, `unknown ulimit ${quote(name)}: one of ${Object.keys(ULIMITS).join(", ")}`);
  const s = limitValue(soft, option, `soft limit of ${name}`);
  const h = hard === undefined ? s : limitValue(hard, option, `hard limit of ${name}`);
  if (s > h) throw bad(option, `ulimit ${name}: the soft limit ${soft} is above the hard limit ${hard}`);
  return { type, soft: s, hard: h, name };
}

const ID_MAX = 2 ** 32 - 1;

/** "CONTAINER:HOST:COUNT" or {containerId, hostId, size}. */
export function parseIdMapping(value: unknown, option: string): LinuxIDMapping {
  let parts: unknown[];
  if (typeof value === "string") {
    const m = /^(\d+):(\d+):(\d+)$/.exec(value);
    if (!m) throw bad(option, `invalid id map ${quote(value)}: CONTAINER:HOST:COUNT`);
    parts = m.slice(1).map(Number);
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    parts = [v.containerId, v.hostId, v.size];
  } else {
    throw bad(option, "must be CONTAINER:HOST:COUNT or {containerId, hostId, size}");
  }
  const [containerID, hostID, size] = parts;
  for (const [what, n] of [
    ["container id", containerID],
    ["host id", hostID],
    ["count", size],
  ] as const)
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > ID_MAX)
      throw bad(option, `invalid ${what} ${String(n)}: 0 to ${ID_MAX}`);
  if ((size as number) === 0) throw bad(option, "the count must be at least 1");
  if ((containerID as number) + (size as number) - 1 > ID_MAX || (hostID as number) + (size as number) - 1 > ID_MAX)
    throw bad(option, `the range runs past ${ID_MAX}`);
  return { containerID: containerID as number, hostID: hostID as number, size: size as number };
}

/** The kernel refuses overlapping ranges (on either side) and more than 340 lines. */
function checkMaps(maps: LinuxIDMapping[], option: string): void {
  if (maps.length > 340) throw bad(option, "at most 340 ranges");
  for (const side of ["containerID", "hostID"] as const) {
    const sorted = [...maps].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i]![side] < sorted[i - 1]![side] + sorted[i - 1]!.size)
        throw bad(option, `the ranges overlap on the ${side === "hostID" ? "host" : "container"} side`);
  }
}

/** The options as docker's inspect lists them (HostConfig.SecurityOpt). */
export function securityOptText(s: CheckedSecurity): string[] {
  const out: string[] = [];
  if (s.seccomp.kind === "unconfined") out.push("seccomp=unconfined");
  else if (s.seccomp.kind === "file") out.push(`seccomp=${s.seccomp.path}`);
  else if (s.seccomp.kind === "profile") out.push(`seccomp=${JSON.stringify(s.seccomp.profile)}`);
  if (s.noNewPrivileges) out.push("no-new-privileges=true");
  return out;
}

/** One `--security-opt` string into `into`; docker's forms with "=" and the old ones with ":". */
function securityOpt(text: string, option: string, into: { seccomp?: SeccompChoice; nnp?: boolean; warnings: string[] }): void {
  const eq = text.search(/[=:]/);
  const key = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? undefined : text.slice(eq + 1);
  switch (key) {
    case "seccomp":
      if (!value) throw bad(option, "seccomp needs a value: seccomp=unconfined or seccomp=FILE");
      if (into.seccomp) throw bad(option, "seccomp given twice");
      into.seccomp =
        value === "unconfined"
          ? { kind: "unconfined" }
          : value === "builtin" || value === "default"
            ? { kind: "default" }
            : { kind: "file", path: value };
      return;
    case "no-new-privileges":
      if (value !== undefined && value !== "true" && value !== "false")
        throw bad(option, `invalid no-new-privileges value ${quote(value)}: true or false`);
      into.nnp = value !== "false";
      return;
    case "apparmor":
    case "label":
      if (!value) throw bad(option, `${key} needs a value: ${key}=…`);
      // podman on a host without AppArmor or SELinux: accepted, and nothing applied.
      into.warnings.push(`--security-opt ${text} ignored: this host has no ${key === "apparmor" ? "AppArmor" : "SELinux"}`);
      return;
    default:
      throw bad(option, `invalid --security-opt ${quote(text)}: seccomp=…, no-new-privileges, apparmor=… or label=…`);
  }
}

function seccompOption(v: unknown): SeccompChoice {
  if (v === "default") return { kind: "default" };
  if (v === "unconfined") return { kind: "unconfined" };
  if (typeof v === "string") {
    if (!v.startsWith("/"))
      throw bad("seccomp", `must be "default", "unconfined", an absolute path or a profile object, not ${quote(v)}`);
    return { kind: "file", path: v };
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return { kind: "profile", profile: v };
  throw bad("seccomp", `must be "default", "unconfined", an absolute path or a profile object`);
}

function list(o: Record<string, unknown>, key: string): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(key, "must be an array");
  return v;
}

/** The security options of `o` (RunOptions), checked and merged: a setting given twice is an error. */
export function checkSecurity(o: Record<string, unknown>): CheckedSecurity {
  const into: { seccomp?: SeccompChoice; nnp?: boolean; warnings: string[] } = { warnings: [] };
  list(o, "securityOpt").forEach((s, i) => {
    if (typeof s !== "string") throw bad(`securityOpt[${i}]`, "must be a string");
    securityOpt(s, `securityOpt[${i}]`, into);
  });
  if (o.seccomp !== undefined) {
    if (into.seccomp) throw bad("seccomp", "given twice: also in securityOpt");
    into.seccomp = seccompOption(o.seccomp);
  }
  if (o.noNewPrivileges !== undefined) {
    if (typeof o.noNewPrivileges !== "boolean") throw bad("noNewPrivileges", "must be a boolean");
    if (into.nnp !== undefined && into.nnp !== o.noNewPrivileges) throw bad("noNewPrivileges", "contradicts securityOpt");
    into.nnp = o.noNewPrivileges;
  }
  const ulimits = list(o, "ulimits").map((u, i) => parseUlimit(u, `ulimits[${i}]`));
  const seen = new Map<string, number>();
  ulimits.forEach((u, i) => {
    if (seen.has(u.type)) throw bad(`ulimits[${i}]`, `ulimit ${u.name} given twice`);
    seen.set(u.type, i);
  });
  const uidMap = list(o, "uidMap").map((m, i) => parseIdMapping(m, `uidMap[${i}]`));
  let gidMap = list(o, "gidMap").map((m, i) => parseIdMapping(m, `gidMap[${i}]`));
  if (gidMap.length > 0 && uidMap.length === 0) throw bad("gidMap", "needs uidMap too");
  // podman: --uidmap alone maps groups the same way.
  if (gidMap.length === 0) gidMap = uidMap.map((m) => ({ ...m }));
  checkMaps(uidMap, "uidMap");
  checkMaps(gidMap, "gidMap");
  return {
    seccomp: into.seccomp ?? { kind: "default" },
    noNewPrivileges: into.nnp ?? false,
    ulimits,
    uidMap,
    gidMap,
    warnings: into.warnings,
  };
}
