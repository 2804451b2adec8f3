/**
 * The parent side of the user-namespace handshake: while the child waits on the sync channel,
 * husk writes its uid_map and gid_map (a process cannot map itself beyond its own id).
 */
import { writeFileSync } from "node:fs";
import { fromSystemError } from "../errors.ts";
import type { LinuxIDMapping } from "../oci/types.ts";

export function formatIdMap(maps: LinuxIDMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

function write(path: string, data: string, what: string, origin?: string): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw fromSystemError(err, what, origin);
  }
}

export function writeIdMaps(
  pid: number,
  uidMappings: LinuxIDMapping[],
  gidMappings: LinuxIDMapping[],
  denySetgroups: boolean,
): void {
  // Unprivileged writers must disable setgroups before the kernel accepts a gid_map.
  if (denySetgroups) write(`/proc/${pid}/setgroups`, "deny", "deny setgroups");
  if (gidMappings.length) write(`/proc/${pid}/gid_map`, formatIdMap(gidMappings), "write gid_map", "linux.gidMappings");
  if (uidMappings.length) write(`/proc/${pid}/uid_map`, formatIdMap(uidMappings), "write uid_map", "linux.uidMappings");
}
