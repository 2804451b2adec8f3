/**
 * `run`: create and start in one go, in the foreground. The helper's parent side waits for
 * the container and exits with its status; husk runs the poststart and poststop hooks and
 * cleans up once it is gone. Forwarding signals is the caller's (the CLI does, via onStart).
 *
 * With detach keys typed (a proxied terminal), the helper's parent becomes the container's
 * monitor: nothing is cleaned up here (the monitor's cleanup does it), onDetach is told and
 * run resolves with 0 while the container runs on.
 */

import { trace } from "../trace.ts";
import { type CreateOptions, cleanUp, createContainer } from "./create.ts";
import { runHooks } from "./hooks.ts";
import { DEFAULT_ROOT } from "./state.ts";
import { ociState } from "./status.ts";

const DETACHED = Symbol("detached");

export async function runContainer(
  opts: Omit<CreateOptions, "mode"> & {
    keep?: boolean;
    onStart?: (pid: number, startTime: string) => void;
    onDetach?: () => Promise<void>;
    /** Asked when the container has gone: leave husk's default parent cgroups (see Runtime's #keepsParents). */
    keepDefaultParent?: () => boolean;
  },
): Promise<number> {
  const created = await createContainer({ ...opts, mode: "run", removeCgroupOnExit: !opts.keep });
  opts.onStart?.(created.launched.pid, created.state.pidStartTime);
  const root = opts.root ?? DEFAULT_ROOT;
  const hooks = created.state.spec.hooks;
  // The status is known here; asking /proc and the freezer (ociState) would only cost time.
  const state = (status: string, pid: number) => ({ ...ociState(root, created.state, status), pid });
  let detached = false;
  try {
    if (hooks?.poststart?.length) {
      await runHooks(hooks.poststart, "poststart", state("running", created.launched.pid), { warnOnly: true });
    }
    const { exited, detached: detaching } = created.launched;
    const outcomes: Promise<number | typeof DETACHED>[] = [exited];
    if (detaching) outcomes.push(detaching.then<number | typeof DETACHED>((d) => (d ? DETACHED : exited)));
    const end = await Promise.race(outcomes);
    if (end !== DETACHED) return end;
    detached = true;
    await opts.onDetach?.();
    return 0;
  } finally {
    trace("runtime: container ran and exited");
    // --keep leaves the stopped container for `husk delete` (which then runs poststop).
    if (!opts.keep && !detached) {
      const removed = (await created.launched.cgroupRemoved) ?? false;
      await cleanUp(created.stateDir, created.cgroup?.cgroup, opts.keepDefaultParent?.() ?? false, removed);
      if (hooks?.poststop?.length) await runHooks(hooks.poststop, "poststop", state("stopped", 0), { warnOnly: true });
    }
  }
}
