/**
 * `kill`: signal the init, or with --all every process in the container's cgroup. As in runc,
 * --all means the whole cgroup even when the container shares it with processes that were
 * there before (a cgroupsPath naming an existing cgroup): that is what was asked. delete and
 * create's cleanup are careful instead (see delete.ts).
 */
import { ConflictError } from "../errors.ts";
import { readState } from "./state.ts";
import { containerStatus } from "./status.ts";

export async function killContainer(root: string, id: string, signal: number, all: boolean): Promise<void> {
  const st = readState(root, id);
  const status = containerStatus(root, st);
  if (status === "stopped" && !all) throw new ConflictError("container not running");
  if (all) {
    // Only --all needs the cgroup module (and this machine's cgroup layout).
    const { reopenCgroup } = await import("./cgroup-setup.ts");
    try {
      await reopenCgroup(st.cgroupPaths).killAll(signal);
    } catch (err) {
      // As runc: --all of a stopped container signals whatever its cgroup still holds, which
      // may be nothing, or no cgroup at all.
      if (status !== "stopped") throw err;
    }
    return;
  }
  try {
    process.kill(st.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") throw new ConflictError("container not running");
    throw err;
  }
}
