/**
 * Device access rules (`linux.resources.devices`).
 *
 * Semantics, as runc applies them: start from "deny everything", then apply the rules in
 * order, as the v1 devices controller does (device-filter.ts spells its rules out).
 *
 * cgroup v1 implements this directly: write "a" to devices.deny, then each rule to
 * devices.allow or devices.deny in order.
 *
 * cgroup v2 has no device files: the same rules become an eBPF program (device-filter.ts).
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

/**
 * The access a rule grants or takes: its "r", "w" and "m" letters (absent: all three). Other
 * letters ("rwa", which runc's own tests use) are ignored, as runc's permission sets hold only
 * those three; the kernel would refuse them.
 */
export function deviceAccess(rule: LinuxDeviceCgroup): string {
  return rule.access === undefined ? rwm : rule.access.replace(/[^rwm]/g, "");
}

/** A rule as the v1 devices.allow/devices.deny files take it: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleString(rule: LinuxDeviceCgroup): string {
  return `${rule.type ?? "a"} ${num(rule.major)}:${num(rule.minor)} ${deviceAccess(rule)}`;
}

/** The ordered v1 writes that install `rules` from scratch (a rule left with no access changes nothing). */
export function v1DeviceWrites(rules: readonly LinuxDeviceCgroup[]): { file: "devices.allow" | "devices.deny"; value: string }[] {
  return [
    { file: "devices.deny", value: "a" },
    ...rules
      .filter((r) => deviceAccess(r) !== "")
      .map((r) => ({ file: r.allow ? ("devices.allow" as const) : ("devices.deny" as const), value: deviceRuleString(r) })),
  ];
}

/** v1DeviceWrites in order, a run of writes to the same file as one entry: each run goes through one open of its file. */
export function v1DeviceWriteRuns(
  rules: readonly LinuxDeviceCgroup[],
): { file: "devices.allow" | "devices.deny"; values: string[] }[] {
  const runs: { file: "devices.allow" | "devices.deny"; values: string[] }[] = [];
  for (const w of v1DeviceWrites(rules)) {
    const last = runs.at(-1);
    if (last?.file === w.file) last.values.push(w.value);
    else runs.push({ file: w.file, values: [w.value] });
  }
  return runs;
}
