/**
 * `delete`: remove a stopped container's cgroup and state (and run poststop hooks); with
 * --force, kill a live one first. Also the cleanup path for a create that crashed halfway:
 * whatever state dir and cgroup exist are removed.
 */
import { HuskError } from "../errors.ts";
import { defaultCgroup, reopenCgroup } from "./cgroup-setup.ts";
import { cleanUp } from "./create.ts";
import { runHooks } from "./hooks.ts";
import { waitGone } from "./proc.ts";
import { readState, stateDir } from "./state.ts";
import { containerStatus, ociState } from "./status.ts";

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  const dir = stateDir(root, id);
  let st: ReturnType<typeof readState>;
  try {
    st = readState(root, id);
  } catch (err) {
    if (!force) throw err;
    // A create killed before it wrote state.json leaves at most the directory and, without a
    // cgroupsPath, the default cgroup behind.
    const orphan = defaultCgroup(id);
    await cleanUp(dir, orphan?.exists() ? orphan : undefined);
    return;
  }
  const status = containerStatus(root, st);
  if (status !== "stopped") {
    if (!force) throw new HuskError(`cannot delete container ${id} that is not stopped: ${status}`);
    reopenCgroup(st.cgroupPaths).killAll("SIGKILL");
    try {
      process.kill(st.pid, "SIGKILL");
    } catch {}
    if (!(await waitGone(st.pid, st.pidStartTime, 10000))) throw new HuskError(`container ${id} did not die after SIGKILL`);
  }
  await cleanUp(dir, reopenCgroup(st.cgroupPaths));
  const hooks = st.spec.hooks?.poststop;
  if (hooks?.length) await runHooks(hooks, "poststop", ociState(root, st, "stopped"), { warnOnly: true });
}
