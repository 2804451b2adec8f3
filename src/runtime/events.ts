/** `events`: the container's cgroup statistics as runc's event JSON (Runtime.events repeats it). */
import { cgroupStats, statsToJSON } from "../cgroups/stats.ts";
import { ConflictError } from "../errors.ts";
import { reopenCgroup } from "./cgroup-setup.ts";
import { readState } from "./state.ts";
import { containerStatus } from "./status.ts";

/** One event line: {"type":"stats","id":…,"data":{…}}, the data printed with exact u64 values. */
export function statsEvent(root: string, id: string): string {
  const st = readState(root, id);
  if (containerStatus(root, st) === "stopped") throw new ConflictError("container not running");
  const data = statsToJSON(cgroupStats(reopenCgroup(st.cgroupPaths)));
  return `{"type":"stats","id":${JSON.stringify(id)},"data":${data}}`;
}
