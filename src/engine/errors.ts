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

/**
 * A runtime failure setting process.rlimits[i] as the ulimit the caller named: the runtime's
 * message names the spec, the caller wrote `--ulimit nofile=…` (RunOptions.ulimits[i]).
 */
export function asUlimitError(err: unknown, ulimits: { name: string; soft: number; hard: number }[]): unknown {
  if (!(err instanceof HuskError)) return err;
  const m = /^process\.rlimits\[(\d+)\]$/.exec(err.origin ?? "");
  const u = m ? ulimits[Number(m[1])] : undefined;
  if (!u) return err;
  const text = (n: number) => (n >= 2 ** 64 ? "unlimited" : String(n));
  const why =
    err.errno === "EPERM"
      ? "operation not permitted: a hard limit above husk's own needs CAP_SYS_RESOURCE, which this process lacks"
      : err.message;
  return new HuskError(`ulimit ${u.name}=${text(u.soft)}:${text(u.hard)}: ${why}`, {
    origin: `RunOptions.ulimits[${ulimits.indexOf(u)}]`,
    errno: err.errno,
  });
}
