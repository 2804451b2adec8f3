/**
 * husk's one error type. It carries what was being done (the plan step or operation), where
 * in the spec it came from, and the errno name when the kernel refused; the CLI prints it on
 * one line:  husk: mount "proc" on "/proc" (mounts[0]): permission denied (EPERM)
 */

export interface HuskErrorDetails {
  /** What husk was doing: `mount "proc" on "/proc"`. */
  what?: string;
  /** Spec path it came from: `mounts[0]`. */
  origin?: string;
  /** Errno name: `EPERM`. */
  errno?: string;
}

/** What would break a message's line: C0 and C1 controls, DEL, and the Unicode line separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const LINE_BREAKERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The message with every control character written as its JSON escape, so it stays one line. */
export function oneLine(message: string): string {
  return message.replace(LINE_BREAKERS, escapeChar);
}

/** Longest value quote() shows whole; a config can hold megabytes in one string. */
const QUOTE_MAX = 200;

/**
 * A value from a spec or the command line, for a message: in double quotes, with quotes,
 * backslashes and control characters escaped as JSON escapes them (a newline in an id reads
 * "a\nb"), and cut short when long.
 */
export function quote(value: string): string {
  const shown = value.length > QUOTE_MAX ? value.slice(0, QUOTE_MAX) : value;
  const quoted = `"${oneLine(shown.replace(/["\\]/g, "\\$&"))}"`;
  return shown === value ? quoted : `${quoted}… (${value.length} characters)`;
}

export class HuskError extends Error {
  readonly what?: string;
  readonly origin?: string;
  readonly errno?: string;

  constructor(message: string, details: HuskErrorDetails = {}) {
    // `what (origin): message`, or `origin: message` when only the spec path is known.
    const where = details.what ? `${details.what}${details.origin ? ` (${details.origin})` : ""}` : details.origin;
    const prefix = where ? `${where}: ` : "";
    const suffix = details.errno ? ` (${details.errno})` : "";
    // One line whatever a value in it held (a hostname with a newline): values should already
    // be quoted with quote(); this catches the ones that were not.
    super(oneLine(`${prefix}${message}${suffix}`));
    this.name = "HuskError";
    this.what = details.what;
    this.origin = details.origin;
    this.errno = details.errno;
  }
}

/**
 * The kinds of failure a caller may want to tell apart, each a HuskError (so `instanceof
 * HuskError` still catches all of them) with the same one-line message.
 */

/** Something named does not exist: a container, an image, a network. */
export class NotFoundError extends HuskError {
  constructor(message: string, details?: HuskErrorDetails) {
    super(message, details);
    this.name = "NotFoundError";
  }
}

/** The request conflicts with what is there: an id or a name in use, a container in the wrong state. */
export class ConflictError extends HuskError {
  constructor(message: string, details?: HuskErrorDetails) {
    super(message, details);
    this.name = "ConflictError";
  }
}

/** A configuration (config.json, a spec in memory, options) is wrong; `path` names the field. */
export class ConfigError extends HuskError {
  /** JSON path of the offending field: `process.rlimits[0].type`; "" for the document itself. */
  readonly path: string;
  /** The message without the path. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(reason, { origin: path || undefined });
    this.name = "ConfigError";
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Making the container failed in the kernel: a plan step refused (`errno` is its name, `what`
 * the step), or the container process died during setup.
 */
export class StepError extends HuskError {
  constructor(message: string, details?: HuskErrorDetails) {
    super(message, details);
    this.name = "StepError";
  }
}

/** The command could not be executed: not found (exitCode 127) or not executable (126), as docker says. */
export class ExecError extends StepError {
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
    details?: HuskErrorDetails,
  ) {
    super(message, details);
    this.name = "ExecError";
  }
}

/** Where a timeout or an abort happened: the container it killed, if it had made one. */
export interface StoppedDetails extends HuskErrorDetails {
  containerId?: string;
}

/** A time limit passed: the operation stopped and its container, if it made one, was killed. */
export class TimeoutError extends HuskError {
  readonly code = "ETIMEDOUT";
  readonly containerId?: string;
  constructor(message: string, details: StoppedDetails = {}) {
    super(message, details);
    this.name = "TimeoutError";
    this.containerId = details.containerId;
  }
}

/** The caller's AbortSignal fired: the operation stopped and its container, if any, was killed. */
export class AbortError extends HuskError {
  readonly code = "ABORT_ERR";
  readonly containerId?: string;
  constructor(message: string, details: StoppedDetails = {}) {
    super(message, details);
    this.name = "AbortError";
    this.containerId = details.containerId;
  }
}

let errnoNames: Map<number, string> | undefined;

/** Errno number → name (EPERM); unknown numbers become `errno N`. */
export function errnoName(errno: number): string {
  // node:os only now, for an error: every verb loads this module, few report an errno.
  errnoNames ??= new Map(
    Object.entries((process.getBuiltinModule("node:os") as typeof import("node:os")).constants.errno).map(([name, value]) => [
      value as number,
      name,
    ]),
  );
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** strerror-like lowercase text for the common errnos husk meets. */
const errnoText: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ESRCH: "no such process",
  EINTR: "interrupted system call",
  EIO: "input/output error",
  E2BIG: "argument list too long",
  ENOEXEC: "exec format error",
  EBADF: "bad file descriptor",
  ECHILD: "no child processes",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  EXDEV: "invalid cross-device link",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  EMFILE: "too many open files",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  ENOSYS: "function not implemented",
  ENOTEMPTY: "directory not empty",
  EOPNOTSUPP: "operation not supported",
  ETXTBSY: "text file busy",
  EUSERS: "too many users",
  ENXIO: "no such device or address",
  EPIPE: "broken pipe",
  ERANGE: "numerical result out of range",
  EPROTO: "protocol error",
  ENOTSOCK: "socket operation on non-socket",
  EADDRINUSE: "address already in use",
  ECONNRESET: "connection reset by peer",
  ENOTCONN: "transport endpoint is not connected",
  ETIMEDOUT: "connection timed out",
  ECONNREFUSED: "connection refused",
  ENOTSUP: "operation not supported",
  EOVERFLOW: "value too large for defined data type",
};

export function errnoMessage(errno: number): string {
  const name = errnoName(errno);
  return errnoText[name] ?? name.toLowerCase();
}

/** Wrap a Node fs/system error into a HuskError for `what`. */
export function fromSystemError(err: unknown, what: string, origin?: string): HuskError {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === "string" && typeof e.errno === "number") {
    return new HuskError(errnoMessage(Math.abs(e.errno)), { what, origin, errno: e.code });
  }
  if (err instanceof HuskError) return err;
  return new HuskError(err instanceof Error ? err.message : String(err), { what, origin });
}
