/**
 * Namespace types: the OCI name, the clone(2)/unshare(2)/setns(2) flag, and the file name
 * under /proc/<pid>/ns/ that pins or joins it.
 */
import type { LinuxNamespaceType } from "./types.ts";

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

/** OCI type → CLONE_* flag. */
export const CLONE: Readonly<Record<LinuxNamespaceType, number>> = {
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  mount: CLONE_NEWNS,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  user: CLONE_NEWUSER,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** /proc/<pid>/ns/<name> for each type; only network and mount differ from the OCI name. */
export const NS_PROC_NAME: Readonly<Record<LinuxNamespaceType, string>> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/** The OCI types in spec order (the order `husk features` lists them). */
export const NAMESPACE_TYPES = Object.keys(CLONE) as LinuxNamespaceType[];

export function isNamespaceType(type: string): type is LinuxNamespaceType {
  return Object.hasOwn(CLONE, type);
}

export function namespaceFlag(type: LinuxNamespaceType): number {
  return CLONE[type];
}

export function namespaceProcName(type: LinuxNamespaceType): string {
  return NS_PROC_NAME[type];
}

/** OR of the flags of several types. CLONE_NEWPID is bit 29 and CLONE_NEWNET bit 30, so the sum stays a positive int. */
export function namespaceFlags(types: Iterable<LinuxNamespaceType>): number {
  let flags = 0;
  for (const t of types) flags |= CLONE[t];
  return flags;
}
