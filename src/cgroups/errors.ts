/**
 * The cgroup module's error: a HuskError whose `what` is the OCI field being applied
 * (`linux.resources.memory.limit`) or, when no field is involved, the cgroup operation
 * (`freeze cgroup /husk/abc`). The CLI prints it on one line:
 *   linux.resources.blockIO.weight: this kernel has no blkio.weight file
 */
import { errnoMessage, HuskError } from "../errors.ts";

export class CgroupError extends HuskError {
  /** The OCI spec path this error is about, when there is one. */
  readonly field?: string;

  constructor(what: string, message: string, errno?: string) {
    super(message, { what, errno });
    this.name = "CgroupError";
    if (what.startsWith("linux.")) this.field = what;
  }
}

/** Node's errno code of a thrown fs error ("ENOENT"), or undefined for anything else. */
export function errCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Wrap a thrown fs error as a CgroupError for `what`, prefixed by the action taken if given. */
export function cgroupFsError(err: unknown, what: string, action?: string): CgroupError {
  if (err instanceof CgroupError) return err;
  const e = err as NodeJS.ErrnoException;
  const prefix = action ? `${action}: ` : "";
  if (e && typeof e.errno === "number" && typeof e.code === "string") {
    return new CgroupError(what, `${prefix}${errnoMessage(Math.abs(e.errno))}`, e.code);
  }
  return new CgroupError(what, `${prefix}${err instanceof Error ? err.message : String(err)}`);
}
