/**
 * husk's one error type. It carries what was being done (the plan step or operation), where
 * in the spec it came from, and the errno name when the kernel refused; the CLI prints it on
 * one line:  husk: mount "proc" on "/proc" (mounts[0]): permission denied (EPERM)
 */
import { constants } from "node:os";

export interface HuskErrorDetails {
  /** What husk was doing: `mount "proc" on "/proc"`. */
  what?: string;
  /** Spec path it came from: `mounts[0]`. */
  origin?: string;
  /** Errno name: `EPERM`. */
  errno?: string;
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
    super(`${prefix}${message}${suffix}`);
    this.name = "HuskError";
    this.what = details.what;
    this.origin = details.origin;
    this.errno = details.errno;
  }
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value as number, name]));

/** Errno number → name (EPERM); unknown numbers become `errno N`. */
export function errnoName(errno: number): string {
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
