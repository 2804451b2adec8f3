/**
 * The engine's error kinds live with the others in src/errors.ts (a run that took too long, one
 * the caller aborted, a command the container could not execute: docker's 127 and 126); here,
 * how a runtime failure becomes one.
 */
import { ExecError, HuskError } from "../errors.ts";

export { AbortError, ExecError, TimeoutError } from "../errors.ts";

/** A HuskError from the exec step (process.args) as an ExecError; anything else as it is. */
export function asExecError(err: unknown): unknown {
  if (!(err instanceof HuskError) || err.origin !== "process.args") return err;
  const code = err.errno === "ENOENT" ? 127 : err.errno === "EACCES" || err.errno === "ENOEXEC" ? 126 : undefined;
  if (code === undefined) return err;
  return new ExecError(err.message, code);
}
