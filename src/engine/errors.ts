/**
 * The engine's own error kinds, each a HuskError (one line, what and why), so a caller can tell
 * them apart with instanceof: a run that took too long, one the caller aborted, a command the
 * container could not execute (docker's exit codes 127 and 126).
 */
import { HuskError } from "../errors.ts";

/** timeoutMs passed: the container was killed. */
export class TimeoutError extends HuskError {
  readonly code = "ETIMEDOUT";
  constructor(
    message: string,
    readonly containerId: string,
  ) {
    super(message);
    this.name = "TimeoutError";
  }
}

/** The caller's AbortSignal fired: the container was killed. */
export class AbortError extends HuskError {
  readonly code = "ABORT_ERR";
  constructor(
    message: string,
    readonly containerId: string,
  ) {
    super(message);
    this.name = "AbortError";
  }
}

/** The command could not be executed: not found (exitCode 127) or not executable (126). */
export class ExecError extends HuskError {
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
  ) {
    super(message);
    this.name = "ExecError";
  }
}

/** A HuskError from the exec step (process.args) as an ExecError; anything else as it is. */
export function asExecError(err: unknown): unknown {
  if (!(err instanceof HuskError) || err.origin !== "process.args") return err;
  const code = err.errno === "ENOENT" ? 127 : err.errno === "EACCES" || err.errno === "ENOEXEC" ? 126 : undefined;
  if (code === undefined) return err;
  return new ExecError(err.message, code);
}
