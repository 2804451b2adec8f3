/**
 * Namespace steps: which namespaces are joined (setns) before the clone, which are created by
 * it, and which must be unshared afterwards.
 *
 * Kernel constraints that fix the order:
 *   - A user namespace is joined first: joining other namespaces needs CAP_SYS_ADMIN in the
 *     user namespace that owns them, and a new user namespace created by clone owns all the
 *     other new ones created with it.
 *   - A pid namespace only applies to children, hence the clone (fork semantics) rather than
 *     unshare; the same for time, whose offsets must be written before any process enters.
 *     CLONE_NEWTIME shares its bit with CSIGNAL, so it can only come from unshare.
 *   - The cgroup namespace is unshared after husk has moved the child into its cgroup, so the
 *     container sees its own cgroup as the root.
 *   - The mount namespace is joined last: after it, paths of the other namespace files might
 *     not resolve any more.
 */
import { CLONE } from "../oci/namespaces.ts";
import type { LinuxNamespace, Spec } from "../oci/types.ts";
import type { Step } from "./ops.ts";

type NsType = LinuxNamespace["type"];

export const JOIN_ORDER: NsType[] = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];

export interface NamespacePlan {
  /** setns/unshare steps the helper runs before clone. */
  beforeClone: Step[];
  /** Flags for the clone itself. */
  cloneFlags: number;
  /** Steps right after husk's go-ahead (cgroup namespace). */
  afterContinue: Step[];
  /** New namespaces by type. */
  created: Set<NsType>;
  /** Joined namespaces by type. */
  joined: Set<NsType>;
}

function index(spec: Spec): Map<NsType, { ns: LinuxNamespace; i: number }> {
  const byType = new Map<NsType, { ns: LinuxNamespace; i: number }>();
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) byType.set(ns.type, { ns, i });
  return byType;
}

function timeOffsets(spec: Spec): string {
  const offsets = spec.linux?.timeOffsets ?? {};
  return Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`)
    .join("");
}

export function planNamespaces(spec: Spec): NamespacePlan {
  const byType = index(spec);
  const beforeClone: Step[] = [];
  const afterContinue: Step[] = [];
  const created = new Set<NsType>();
  const joined = new Set<NsType>();
  let cloneFlags = 0;

  for (const type of JOIN_ORDER) {
    const entry = byType.get(type);
    if (!entry?.ns.path) continue;
    joined.add(type);
    beforeClone.push({
      what: `join ${type} namespace ${JSON.stringify(entry.ns.path)}`,
      origin: `linux.namespaces[${entry.i}]`,
      op: { op: "setns", path: entry.ns.path, nstype: CLONE[type] },
    });
  }

  for (const [type, { ns, i }] of byType) {
    if (ns.path) continue;
    created.add(type);
    const origin = `linux.namespaces[${i}]`;
    if (type === "time") {
      beforeClone.push({ what: "create time namespace", origin, op: { op: "unshare", flags: CLONE.time } });
      const offsets = timeOffsets(spec);
      if (offsets) {
        beforeClone.push({
          what: "set time namespace offsets",
          origin: "linux.timeOffsets",
          op: { op: "writeFile", path: "/proc/self/timens_offsets", where: 0, data: offsets },
        });
      }
    } else if (type === "cgroup") {
      afterContinue.push({ what: "create cgroup namespace", origin, op: { op: "unshare", flags: CLONE.cgroup } });
    } else {
      cloneFlags |= CLONE[type];
    }
  }
  return { beforeClone, cloneFlags, afterContinue, created, joined };
}
