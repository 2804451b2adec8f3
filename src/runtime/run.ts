/**
 * `run`: create and start in one go, in the foreground. The helper's parent side waits for
 * the container and exits with its status; husk forwards the signals it receives to the
 * container's init, and cleans up once it is gone.
 */
import { type CreateOptions, cleanUp, createContainer } from "./create.ts";
import { forwardSignals } from "./signals.ts";

export async function runContainer(opts: Omit<CreateOptions, "mode">): Promise<number> {
  const created = await createContainer({ ...opts, mode: "run" });
  const stopForwarding = forwardSignals(created.launched.pid);
  try {
    return await created.launched.helper.exited;
  } finally {
    stopForwarding();
    await cleanUp(created.stateDir, created.cgroup?.cgroup);
  }
}
