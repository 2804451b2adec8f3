/**
 * Device access rules (`linux.resources.devices`).
 *
 * Semantics, as runc applies them: start from "deny everything", then apply the rules in
 * order; for a given device and access letter the last matching rule wins.
 *
 * cgroup v1 implements this directly: write "a" to devices.deny, then each rule to
 * devices.allow or devices.deny in order.
 *
 * cgroup v2 has no device files; the kernel only offers a BPF_CGROUP_DEVICE program, which
 * husk cannot load yet. husk's decision: rules that still allow every device in
 * `defaultDeviceRules` (what each container gets anyway, and the only nodes husk puts in its
 * /dev) are accepted on v2 with a warning that the rest is not enforced — otherwise every
 * ordinary container, whose spec denies everything and allows the defaults, would fail on
 * v2. Rules that take away a default device (deny /dev/null, say) cannot be honoured by the
 * /dev husk builds and fail with an error.
 */
import type { LinuxDeviceCgroup } from "./resources.ts";

const rwm = "rwm";

/**
 * The devices every container may use, runc's list (specconv.AllowedDevices): mknod of
 * anything, /dev/null, random, full, tty, zero, urandom, the pty slaves and ptmx, and
 * /dev/net/tun (kept by runc for compatibility). The runtime appends these after the
 * spec's own rules.
 */
export const defaultDeviceRules: readonly LinuxDeviceCgroup[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: rwm },
  { allow: true, type: "c", major: 1, minor: 8, access: rwm },
  { allow: true, type: "c", major: 1, minor: 7, access: rwm },
  { allow: true, type: "c", major: 5, minor: 0, access: rwm },
  { allow: true, type: "c", major: 1, minor: 5, access: rwm },
  { allow: true, type: "c", major: 1, minor: 9, access: rwm },
  { allow: true, type: "c", major: 136, access: rwm },
  { allow: true, type: "c", major: 5, minor: 2, access: rwm },
  { allow: true, type: "c", major: 10, minor: 200, access: rwm },
];

function num(n: number | undefined): string {
  return n === undefined || n === -1 ? "*" : String(n);
}

/** A rule as the v1 devices.allow/devices.deny files take it: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleString(rule: LinuxDeviceCgroup): string {
  return `${rule.type ?? "a"} ${num(rule.major)}:${num(rule.minor)} ${rule.access ?? rwm}`;
}

/** The ordered v1 writes that install `rules` from scratch. */
export function v1DeviceWrites(rules: readonly LinuxDeviceCgroup[]): { file: "devices.allow" | "devices.deny"; value: string }[] {
  return [
    { file: "devices.deny", value: "a" },
    ...rules.map((r) => ({ file: r.allow ? ("devices.allow" as const) : ("devices.deny" as const), value: deviceRuleString(r) })),
  ];
}

function matches(rule: LinuxDeviceCgroup, type: string, major: number | undefined, minor: number | undefined): boolean {
  const t = rule.type ?? "a";
  if (t !== "a" && t !== type) return false;
  // A wildcard in the rule matches anything; a wildcard in the query is matched only by one.
  if (rule.major !== undefined && rule.major !== -1 && rule.major !== major) return false;
  if (rule.minor !== undefined && rule.minor !== -1 && rule.minor !== minor) return false;
  return true;
}

/**
 * Whether `rules` grant every letter of `access` on the device. `type` "c"/"b"; major/minor
 * undefined means "every device of that type" (only a wildcard rule matches it).
 */
export function deviceAllowed(
  rules: readonly LinuxDeviceCgroup[],
  type: string,
  major: number | undefined,
  minor: number | undefined,
  access: string,
): boolean {
  for (const letter of access) {
    let allowed = false;
    for (const rule of rules) {
      if ((rule.access ?? rwm).includes(letter) && matches(rule, type, major, minor)) allowed = rule.allow;
    }
    if (!allowed) return false;
  }
  return true;
}

/** The first default device the rules take away, or undefined if they keep them all. */
export function deniedDefaultDevice(rules: readonly LinuxDeviceCgroup[]): LinuxDeviceCgroup | undefined {
  return defaultDeviceRules.find((d) => !deviceAllowed(rules, d.type ?? "a", d.major, d.minor, d.access ?? rwm));
}

/** Whether the rules allow every access to every device (nothing to enforce). */
export function allowsEverything(rules: readonly LinuxDeviceCgroup[]): boolean {
  return deviceAllowed(rules, "c", undefined, undefined, rwm) && deviceAllowed(rules, "b", undefined, undefined, rwm);
}
