/**
 * `run`: create and start in one go, in the foreground. The helper's parent side waits for
 * the container and exits with its status; husk runs the poststart and poststop hooks and
 * cleans up once it is gone. Forwarding signals is the caller's (the CLI does, via onStart).
 */

import { trace } from "../trace.ts";
import { type CreateOptions, cleanUp, createContainer } from "./create.ts";
import { runHooks } from "./hooks.ts";
import { DEFAULT_ROOT } from "./state.ts";
import { ociState } from "./status.ts";

export async function runContainer(
  opts: Omit<CreateOptions, "mode"> & { keep?: boolean; onStart?: (pid: number) => void },
): Promise<number> {
  const created = await createContainer({ ...opts, mode: "run" });
  opts.onStart?.(created.launched.pid);
  const root = opts.root ?? DEFAULT_ROOT;
  const hooks = created.state.spec.hooks;
  // The status is known here; asking /proc and the freezer (ociState) would only cost time.
  const state = (status: string, pid: number) => ({ ...ociState(root, created.state, status), pid });
  try {
    if (hooks?.poststart?.length) {
      await runHooks(hooks.poststart, "poststart", state("running", created.launched.pid), { warnOnly: true });
    }
    return await created.launched.exited;
  } finally {
    trace("runtime: container ran and exited");
    // --keep leaves the stopped container for `husk delete` (which then runs poststop).
    if (!opts.keep) {
      await cleanUp(created.stateDir, created.cgroup?.cgroup);
      if (hooks?.poststop?.length) await runHooks(hooks.poststop, "poststop", state("stopped", 0), { warnOnly: true });
    }
  }
}
