/**
 * `run`: create and start in one go, in the foreground. The helper's parent side waits for
 * the container and exits with its status; husk forwards the signals it receives to the
 * container's init, and cleans up once it is gone.
 */
import { type CreateOptions, cleanUp, createContainer } from "./create.ts";

/** Signals a foreground `run` passes on to the container, as runc does. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

export async function runContainer(opts: Omit<CreateOptions, "mode">): Promise<number> {
  const created = await createContainer({ ...opts, mode: "run" });
  const { pid } = created.launched;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // the container is already gone; its exit status will tell
    }
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
  try {
    return await created.launched.helper.exited;
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
    await cleanUp(created.stateDir, created.cgroup?.cgroup);
  }
}
