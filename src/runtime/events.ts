/**
 * `events`: the container's cgroup statistics as runc's event JSON, and its OOM kills.
 *
 * runc learns of an OOM kill through an eventfd (v1) or inotify on memory.events (v2); neither
 * is reachable from JavaScript, so the kill counter is polled instead (memory.oom_control's
 * `oom_kill` on v1, memory.events' `oom_kill` on v2, both kept by the kernel since 4.13). The
 * poll also notices the container going away, which ends the stream as runc's does.
 */
import type { Cgroup } from "../cgroups/cgroup.ts";
import { cgroupStats, statsToJSON } from "../cgroups/stats.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { reopenCgroup } from "./cgroup-setup.ts";
import { readState } from "./state.ts";
import { containerStatus } from "./status.ts";

/** How often the OOM counter and the container's liveness are looked at between stats. */
const POLL_MS = 100;

/** One event line: {"type":"stats","id":…,"data":{…}}, the data printed with exact u64 values. */
export function statsEvent(root: string, id: string): string {
  return statsLine(id, runningCgroup(root, id));
}

/** The running container's cgroup: NotFoundError for a missing container, ConflictError for a stopped one. */
function runningCgroup(root: string, id: string): Cgroup {
  const st = readState(root, id);
  if (containerStatus(root, st) === "stopped") throw new ConflictError("container not running");
  return reopenCgroup(st.cgroupPaths);
}

function statsLine(id: string, cg: Cgroup): string {
  return `{"type":"stats","id":${JSON.stringify(id)},"data":${statsToJSON(cgroupStats(cg))}}`;
}

/** The cgroup's OOM-kill count, or undefined when its memory controller says none. */
export function oomKills(cg: Cgroup): number | undefined {
  const mem = cg.home("memory");
  const text = mem?.tryRead(mem.version === 1 ? "memory.oom_control" : "memory.events");
  const m = text && /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The cgroup while the container runs; undefined once it is stopped or deleted. */
function running(root: string, id: string): Cgroup | undefined {
  try {
    return runningCgroup(root, id);
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof ConflictError) return undefined;
    throw err;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A stats line every `intervalMs` (the first at once) and an oom line for each OOM kill,
 * until the container stops or is deleted. A container that is not running is an error.
 */
export async function* eventStream(root: string, id: string, intervalMs: number): AsyncGenerator<string> {
  let cg: Cgroup | undefined = runningCgroup(root, id);
  const oom = JSON.stringify({ type: "oom", id });
  let kills = oomKills(cg) ?? 0;
  let nextStats = 0;
  for (;;) {
    const now = Date.now();
    let line: string | undefined;
    try {
      const seen = oomKills(cg);
      if (seen !== undefined && seen > kills) {
        kills = seen;
        yield oom;
      }
      if (now >= nextStats) line = statsLine(id, cg);
    } catch (err) {
      // The cgroup went with a container deleted between the look and the read.
      if (!running(root, id)) return;
      throw err;
    }
    if (line !== undefined) {
      yield line;
      nextStats = now + intervalMs;
    }
    await sleep(Math.min(POLL_MS, Math.max(1, nextStats - Date.now())));
    cg = running(root, id);
    if (!cg) return;
  }
}
