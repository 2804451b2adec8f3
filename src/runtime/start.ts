/**
 * `start`: release a created container. Its init is blocked opening exec.fifo for writing;
 * opening the fifo for reading lets it through, and the byte it writes says it got there.
 */
import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { runHooks } from "./hooks.ts";
import { isAlive, sleep } from "./proc.ts";
import { EXEC_FIFO, readState, stateDir } from "./state.ts";
import { containerStatus, ociState } from "./status.ts";

export async function startContainer(root: string, id: string): Promise<void> {
  const st = readState(root, id);
  const status = containerStatus(root, st);
  if (status === "stopped") throw new HuskError("cannot start a container that has stopped");
  if (status === "running") throw new HuskError("cannot start an already running container");
  // A frozen init cannot take the start: refuse rather than wait for a resume (runc's wording).
  if (status !== "created") throw new HuskError(`cannot start a container in the ${status} state`);
  const fifo = join(stateDir(root, id), EXEC_FIFO);
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    const released = () => {
      try {
        return readSync(fd, buf, 0, 1, null) === 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
        return false;
      }
    };
    // Non-blocking: if the init dies instead of writing, we notice rather than hang. It may
    // also write, exec and exit between our read and the liveness check: the byte it left in
    // the fifo (which keeps it while we hold the read end) says it did start.
    while (!released()) {
      if (!isAlive(st.pid, st.pidStartTime) && !released()) throw new HuskError("cannot start a container that has stopped");
      await sleep(1);
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  // The process may be gone already; the hook is told about the one start just released.
  const hooks = st.spec.hooks?.poststart;
  if (hooks?.length) await runHooks(hooks, "poststart", ociState(root, st, "running"), { warnOnly: true });
}
