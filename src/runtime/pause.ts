/**
 * `pause`/`resume`: freeze and thaw every process of the container through its cgroup. As in
 * runc, a created container can be paused too: its state says paused, resume brings it back to
 * created, and start refuses it meanwhile (its frozen init could not take the start). The CLI
 * holds the state lock, so a pause cannot slip between start's check and the init's release.
 */
import { ConflictError } from "../errors.ts";
import { reopenCgroup } from "./cgroup-setup.ts";
import { readState } from "./state.ts";
import { containerStatus } from "./status.ts";

export async function pauseContainer(root: string, id: string): Promise<void> {
  const st = readState(root, id);
  const status = containerStatus(root, st);
  if (status !== "running" && status !== "created") throw new ConflictError("container not running");
  await reopenCgroup(st.cgroupPaths).freeze();
}

export function resumeContainer(root: string, id: string): void {
  const st = readState(root, id);
  if (containerStatus(root, st) !== "paused") throw new ConflictError("container not paused");
  reopenCgroup(st.cgroupPaths).thaw();
}
