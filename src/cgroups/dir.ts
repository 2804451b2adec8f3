/**
 * One cgroup directory in one hierarchy, with reads and writes that turn kernel refusals into
 * CgroupErrors naming the OCI field. The one rule that matters: a knob the kernel does not
 * have is an error naming the field, never a silently skipped setting.
 */
import { dirname } from "../sys/posix-path.ts";
import { CgroupError, cgroupFsError, errCode } from "./errors.ts";
import type { CgroupFs } from "./fsio.ts";

export class CgroupDir {
  constructor(
    readonly fs: CgroupFs,
    /** Absolute directory of the cgroup. */
    readonly path: string,
    readonly version: 1 | 2,
  ) {}

  file(name: string): string {
    return `${this.path}/${name}`;
  }

  has(name: string): boolean {
    return this.fs.exists(this.file(name));
  }

  /** Content, or undefined if the file does not exist. Other errors throw. */
  tryRead(name: string): string | undefined {
    try {
      return this.fs.readFile(this.file(name));
    } catch (err) {
      if (errCode(err) === "ENOENT" || errCode(err) === "ENODEV") return undefined;
      throw cgroupFsError(err, `read ${this.file(name)}`);
    }
  }

  read(what: string, name: string): string {
    try {
      return this.fs.readFile(this.file(name));
    } catch (err) {
      if (errCode(err) === "ENOENT") throw this.missing(what, name);
      throw cgroupFsError(err, what, `read ${this.file(name)}`);
    }
  }

  /** Write, or return the errno code ("EINVAL") on failure; for the ordering retries. */
  tryWrite(name: string, value: string): string | undefined {
    try {
      this.fs.writeFile(this.file(name), value);
      return undefined;
    } catch (err) {
      return errCode(err) ?? "EIO";
    }
  }

  /** Write `value` to knob `name` on behalf of `what` (an OCI field or an operation). */
  write(what: string, name: string, value: string): void {
    try {
      this.fs.writeFile(this.file(name), value);
    } catch (err) {
      throw this.writeError(err, what, name, value);
    }
  }

  /** Write each value in turn to knob `name`, through one open of it when the fs can (CgroupFs.writeEach). */
  writeEach(what: string, name: string, values: readonly string[]): void {
    const each = this.fs.writeEach;
    if (!each) {
      for (const v of values) this.write(what, name, v);
      return;
    }
    try {
      each.call(this.fs, this.file(name), values);
    } catch (err) {
      throw this.writeError(err, what, name, (err as { value?: string }).value);
    }
  }

  /** A failed write of knob `name` (of `value`; undefined: its open) as the error to throw. */
  private writeError(err: unknown, what: string, name: string, value: string | undefined): Error {
    if (errCode(err) === "ENOENT" && this.fs.exists(this.path)) return this.missing(what, name);
    return cgroupFsError(
      err,
      what,
      value === undefined ? `open ${this.file(name)}` : `write ${JSON.stringify(value)} to ${this.file(name)}`,
    );
  }

  /** The error for a knob that does not exist, saying why when cgroup v2 can tell. */
  missing(what: string, name: string): CgroupError {
    if (!this.fs.exists(this.path)) return new CgroupError(what, `cgroup ${this.path} does not exist`, "ENOENT");
    const controller = name.split(".")[0] as string;
    if (this.version === 2 && controller !== "cgroup") {
      const available = this.tryRead("cgroup.controllers");
      if (available !== undefined && !available.split(/\s+/).includes(controller)) {
        return new CgroupError(
          what,
          `the ${controller} controller is not enabled for ${this.path} (${dirname(this.path)}/cgroup.subtree_control does not delegate it)`,
        );
      }
    }
    return new CgroupError(what, `this kernel has no ${name} file`);
  }
}
