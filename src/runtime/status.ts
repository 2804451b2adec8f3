/** A container's status, derived from the kernel each time (runc semantics), never stored. */

import { isFrozen, recordedFreezer } from "../cgroups/freezer.ts";
import type { State } from "../oci/types.ts";
import { files } from "../sys/files.ts";
import { join } from "../sys/posix-path.ts";
import { isAlive } from "./proc.ts";
import { EXEC_FIFO, type SavedState, stateDir } from "./state.ts";

export type Status = State["status"];

export function containerStatus(root: string, st: SavedState): Status {
  if (!isAlive(st.pid, st.pidStartTime)) return "stopped";
  // Frozen comes before created, as in runc: a created container can be paused, and resumed
  // back to created (its init still waits at exec.fifo).
  const freezer = recordedFreezer(st.cgroupPaths);
  if (freezer && isFrozen(freezer, `read freezer state of ${freezer.path}`)) return "paused";
  if (files().exists(join(stateDir(root, st.id), EXEC_FIFO))) return "created";
  return "running";
}

/** The OCI state document, field for field as runc prints it. */
export function ociState(root: string, st: SavedState, known?: string): Record<string, unknown> {
  const status = known ?? containerStatus(root, st);
  const out: Record<string, unknown> = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: status === "stopped" ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
  };
  if (st.annotations && Object.keys(st.annotations).length > 0) out.annotations = st.annotations;
  return out;
}
