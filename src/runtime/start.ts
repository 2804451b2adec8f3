/**
 * `start`: release a created container. Its init holds exec.fifo's read end and waits for a
 * byte; opening the write end fails (ENXIO) when no reader is left, which tells a dead init.
 */

import { ConflictError } from "../errors.ts";
import { files } from "../sys/files.ts";
import { join } from "../sys/posix-path.ts";
import { EXEC_FIFO, readState, stateDir } from "./state.ts";
import { containerStatus, ociState } from "./status.ts";

export async function startContainer(root: string, id: string): Promise<void> {
  const st = readState(root, id);
  const status = containerStatus(root, st);
  if (status === "stopped") throw new ConflictError("cannot start a container that has stopped");
  if (status === "running") throw new ConflictError("cannot start an already running container");
  // A frozen init cannot take the start: refuse rather than wait for a resume (runc's wording).
  if (status !== "created") throw new ConflictError(`cannot start a container in the ${status} state`);
  const fifo = join(stateDir(root, id), EXEC_FIFO);
  try {
    files().writeFifo(fifo, "0");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENXIO") throw new ConflictError("cannot start a container that has stopped");
    throw err;
  }
  files().unlink(fifo);
  // The process may be gone already; the hook is told about the one start just released.
  const hooks = st.spec.hooks?.poststart;
  if (hooks?.length) {
    const { runHooks } = await import("./hooks.ts"); // loaded only for a container that has some
    await runHooks(hooks, "poststart", ociState(root, st, "running"), { warnOnly: true });
  }
}
