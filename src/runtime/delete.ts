/**
 * `delete`: remove a stopped container's cgroup and state (and run poststop hooks); with
 * --force, kill a live one first. Also the cleanup path for a create that crashed halfway or a
 * state dir that was damaged: whatever the records name is removed, and a warning says what
 * could not be known.
 *
 * What is killed: the container's init, which with a pid namespace of its own is the whole
 * container; without one, in a cgroup husk made, every process in it (all are the
 * container's); in a cgroup it shares with processes that were there before (a cgroupsPath
 * naming an existing cgroup), only the init. Only the cgroup directories husk made are removed.
 */

import { ConflictError, HuskError } from "../errors.ts";
import { files } from "../sys/files.ts";
import { join } from "../sys/posix-path.ts";
import { printWarning } from "../sys/stdio.ts";
import { trace } from "../trace.ts";
import { type CgroupRemoval, planCgroupRemoval, removeRecordedCgroup } from "./cgroup-remove.ts";
import { waitGone } from "./proc.ts";
import {
  type CgroupRecord,
  readCgroupRecord,
  readState,
  removeStateDir,
  type SavedState,
  STATE_FILE,
  stateDir,
} from "./state.ts";
import { containerStatus, ociState } from "./status.ts";

export async function deleteContainer(
  root: string,
  id: string,
  force: boolean,
  onWarning: (message: string) => void = printWarning,
  keepDefaultParent = false,
): Promise<void> {
  const dir = stateDir(root, id);
  let st: SavedState;
  try {
    st = readState(root, id);
  } catch (err) {
    if (!force) throw err;
    if (files().exists(dir)) await removeRemains(dir, id, err as Error, onWarning);
    return;
  }
  trace("runtime: delete: state read");
  // Read and checked once, when first needed: for a container with its own pid namespace,
  // while the kernel tears it down after the SIGKILL.
  let recorded: { record?: CgroupRecord; problem?: string; removal?: CgroupRemoval } | undefined;
  const recordOnce = () => {
    if (recorded) return recorded;
    const { record, problem } = cgroupRecord(dir);
    recorded = { record, problem, removal: record && planCgroupRemoval(record) };
    return recorded;
  };
  const status = containerStatus(root, st);
  trace("runtime: delete: status");
  if (status !== "stopped") {
    if (!force) throw new ConflictError(`cannot delete container ${id} that is not stopped: ${status}`);
    // With a pid namespace of its own, the init's death takes every process in it along (the
    // kernel kills them, and the init is reaped only once they are gone): killing the init is
    // enough, as in runc, and needs no cgroup code. Otherwise, in a cgroup husk made, the
    // cgroup manager freezes, kills and thaws every process in it.
    const ownPidNs = (st.spec.linux?.namespaces ?? []).some((ns) => ns.type === "pid" && !ns.path);
    const cgroup = ownPidNs && status !== "paused" ? undefined : await managedCgroup(st.cgroupPaths, recordOnce().record);
    const killsAll = !!cgroup?.isOwn() && !ownPidNs;
    if (killsAll) await cgroup?.killAll("SIGKILL");
    try {
      process.kill(st.pid, "SIGKILL");
    } catch {}
    // A frozen init dies only once thawed; killAll thaws the cgroup itself.
    if (status === "paused" && !killsAll) cgroup?.thaw();
    trace("runtime: delete: killed");
    recordOnce();
    if (!(await waitGone(st.pid, st.pidStartTime, 10000))) throw new HuskError(`container ${id} did not die after SIGKILL`);
    trace("runtime: delete: gone");
  }
  const { record, problem, removal } = recordOnce();
  // rmdir alone, from the record, for a cgroup its processes have left (the usual case);
  // anything more (processes left in it, sub-cgroups, no record) is the cgroup manager's.
  if (!removal || !removeRecordedCgroup(removal, keepDefaultParent)) {
    const { removeCgroup } = await import("./cgroup-setup.ts");
    await removeCgroup(await managedCgroup(st.cgroupPaths, record), { kill: !record?.pending, keepDefaultParent });
  }
  trace("runtime: delete: cgroup removed");
  removeStateDir(dir);
  trace("runtime: delete: state removed");
  const left = [...new Set(Object.values(st.cgroupPaths))];
  if (!record && left.length > 0) {
    onWarning(
      `container ${id}: ${problem ?? "no record of the cgroups husk made for it"}; left its cgroup in place: ${left.join(", ")}`,
    );
  }
  const hooks = st.spec.hooks?.poststop;
  if (hooks?.length) {
    const { runHooks } = await import("./hooks.ts"); // loaded only for a container that has some
    await runHooks(hooks, "poststop", ociState(root, st, "stopped"), { warnOnly: true });
  }
}

/** The container's cgroup reopened by the cgroup manager, loaded only for the paths that need it. */
async function managedCgroup(paths: Record<string, string>, record?: CgroupRecord) {
  const { recordedCgroup } = await import("./cgroup-setup.ts");
  return recordedCgroup(paths, record);
}

function cgroupRecord(dir: string): { record?: CgroupRecord; problem?: string } {
  try {
    return { record: readCgroupRecord(dir) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/**
 * `delete --force` of a state dir without a usable state.json: a create killed before writing
 * it (nothing of the container runs yet), or a damaged file. The cgroup record, written before
 * the cgroup was made, still names what to remove; in a cgroup husk made, killing everything
 * in it kills the container. What cannot be done is said in one warning line.
 */
async function removeRemains(dir: string, id: string, err: Error, onWarning: (message: string) => void): Promise<void> {
  const damaged = files().exists(join(dir, STATE_FILE));
  const { record, problem } = cgroupRecord(dir);
  const { recordedCgroup, removeCgroup } = await import("./cgroup-setup.ts");
  const cgroup = record ? recordedCgroup(record.paths, record) : undefined;
  const killsAll = !!cgroup && !record?.pending && cgroup.isOwn() && Object.keys(cgroup.paths).length > 0;
  // If removing the cgroup fails, this throws and the state dir (with the record) stays for
  // another delete --force.
  if (cgroup) await removeCgroup(cgroup, { kill: !record?.pending });
  removeStateDir(dir);
  const lost: string[] = [];
  if (damaged) lost.push("run its poststop hooks");
  if (damaged && !killsAll) lost.push("find its processes");
  if (problem) lost.push(`find its cgroups (${problem})`);
  if (lost.length === 0) return;
  const removed = cgroup ? "its state directory and the cgroups it recorded" : "its state directory";
  onWarning(`container ${id}: ${err.message}; removed ${removed}, but could not ${lost.join(", nor ")}`);
}
