/**
 * `run`: create and start in one go, in the foreground. The helper's parent side waits for
 * the container and exits with its status; husk forwards the signals it receives to the
 * container's init, runs the poststart and poststop hooks, and cleans up once it is gone.
 */
import { type CreateOptions, cleanUp, createContainer } from "./create.ts";
import { runHooks } from "./hooks.ts";
import { forwardSignals } from "./signals.ts";
import { DEFAULT_ROOT } from "./state.ts";
import { ociState } from "./status.ts";

export async function runContainer(opts: Omit<CreateOptions, "mode"> & { keep?: boolean }): Promise<number> {
  const forwarder = forwardSignals();
  let created: Awaited<ReturnType<typeof createContainer>>;
  try {
    created = await createContainer({ ...opts, mode: "run" });
  } catch (err) {
    forwarder.stop();
    throw err;
  }
  forwarder.target(created.launched.pid);
  const root = opts.root ?? DEFAULT_ROOT;
  const hooks = created.state.spec.hooks;
  try {
    const running = { ...ociState(root, created.state), status: "running", pid: created.launched.pid };
    await runHooks(hooks?.poststart, "poststart", running, { warnOnly: true });
    return await created.launched.helper.exited;
  } finally {
    forwarder.stop();
    // --keep leaves the stopped container for `husk delete` (which then runs poststop).
    if (!opts.keep) {
      const state = { ...ociState(root, created.state), status: "stopped", pid: 0 };
      await cleanUp(created.stateDir, created.cgroup?.cgroup);
      await runHooks(hooks?.poststop, "poststop", state, { warnOnly: true });
    }
  }
}
