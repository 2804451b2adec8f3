/**
 * Where runtime state lives unless --root (or RuntimeOptions.root) says otherwise, and whether
 * the caller is rootless: runc's rules, so that rootless podman (which passes no --root and runs
 * the runtime as root of a user namespace) finds the same places.
 */
/** runc's /run/runc. */
export const DEFAULT_ROOT = "/run/husk";

/** Is this process in a user namespace other than the initial one (its uid_map is not the identity)? */
export function runningInUserNs(uidMap?: string): boolean {
  let text = uidMap;
  if (text === undefined) {
    try {
      // node:fs fetched here, not imported: every verb loads this module, --version reads no file.
      const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
      text = fs.readFileSync("/proc/self/uid_map", "utf8");
    } catch {
      return false;
    }
  }
  const lines = text.trim().split("\n").filter(Boolean);
  return !(lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0] as string));
}

export interface Caller {
  euid: number;
  env: Record<string, string | undefined>;
  /** /proc/self/uid_map's text (read when not given). */
  uidMap?: string;
}

function self(): Caller {
  return { euid: process.geteuid?.() ?? 0, env: process.env };
}

/**
 * The state root: $XDG_RUNTIME_DIR/husk for a rootless caller with XDG_RUNTIME_DIR set (an
 * unprivileged user; or root of a user namespace whose USER is not root, as under rootless
 * podman), else /run/husk.
 */
export function defaultRoot(caller: Caller = self()): string {
  const xdg = caller.env.XDG_RUNTIME_DIR;
  if (!xdg) return DEFAULT_ROOT;
  if (caller.euid !== 0) return `${xdg}/husk`;
  if (!runningInUserNs(caller.uidMap)) return DEFAULT_ROOT;
  const user = caller.env.USER;
  return user === undefined || user !== "root" ? `${xdg}/husk` : DEFAULT_ROOT;
}

/**
 * Rootless for cgroups (a cgroup husk may not make is skipped, as runc's rootless cgroup
 * manager does): --rootless true/false as given; "auto" when not root, or root of a user
 * namespace.
 */
export function isRootless(flag: boolean | "auto" = "auto", caller: Caller = self()): boolean {
  if (flag !== "auto") return flag;
  return caller.euid !== 0 || runningInUserNs(caller.uidMap);
}
