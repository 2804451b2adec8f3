/** `events`: the container's cgroup statistics as runc's event JSON, once or every interval. */
import { statsToJSON } from "../cgroups/index.ts";
import { HuskError } from "../errors.ts";
import { reopenCgroup } from "./cgroup-setup.ts";
import { sleep } from "./proc.ts";
import { readState } from "./state.ts";
import { containerStatus } from "./status.ts";

/** One event line: {"type":"stats","id":…,"data":{…}}, the data printed with exact u64 values. */
export function statsEvent(root: string, id: string): string {
  const st = readState(root, id);
  if (containerStatus(root, st) === "stopped") throw new HuskError("container not running");
  const data = statsToJSON(reopenCgroup(st.cgroupPaths).stats());
  return `{"type":"stats","id":${JSON.stringify(id)},"data":${data}}`;
}

/** Print an event every `intervalMs` until the container stops. */
export async function streamStats(root: string, id: string, intervalMs: number, write: (line: string) => void): Promise<void> {
  for (;;) {
    let line: string;
    try {
      line = statsEvent(root, id);
    } catch (err) {
      if (err instanceof HuskError && err.message === "container not running") return;
      throw err;
    }
    write(`${line}\n`);
    await sleep(intervalMs);
  }
}
