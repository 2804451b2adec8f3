/**
 * The file operations the cgroup module performs, behind one small interface so unit tests
 * can run the real logic against a directory tree in a temp dir and record every write
 * (youki's Syscall-trait seam). Methods throw Node's fs errors (with `.code`) unchanged.
 */
import { files, nodeFs, writeOnce } from "../sys/files.ts";

export interface CgroupFs {
  readFile(path: string): string;
  /**
   * Write `data` in one write(2) to an existing file. Never creates: a cgroupfs knob that does
   * not exist must fail with ENOENT, never become a regular file. O_TRUNC keeps fake trees
   * readable (cgroupfs ignores it); O_RDWR is avoided because kernfs refuses it on
   * write-only knobs such as devices.allow.
   */
  writeFile(path: string, data: string): void;
  /**
   * Each value in a write(2) of its own, all to one open of `path` (v1 device rules: the kernel
   * takes one rule per write). Optional: without it, writeFile each. A failed write throws with
   * the value it was writing as the error's `value`.
   */
  writeEach?(path: string, values: readonly string[]): void;
  exists(path: string): boolean;
  /** mkdir; true if this call created it, false if it already existed. */
  mkdir(path: string): boolean;
  rmdir(path: string): void;
  /** Names of the subdirectories (child cgroups) of a cgroup directory. */
  subdirs(path: string): string[];
}

export const nodeCgroupFs: CgroupFs = {
  // Reads and tests through files.ts, which the runtime CLI points at libc: status reads the
  // freezer, and node:fs would cost each verb ~1.1 ms to load.
  readFile: (path) => files().readFile(path),
  writeFile: (path, data) => writeOnce(path, nodeFs().constants.O_WRONLY | nodeFs().constants.O_TRUNC, data),
  writeEach: (path, values) => writeOnce(path, nodeFs().constants.O_WRONLY | nodeFs().constants.O_TRUNC, values),
  exists: (path) => files().exists(path),
  mkdir(path) {
    try {
      nodeFs().mkdirSync(path, { mode: 0o755 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  },
  rmdir: (path) => files().rmdir(path),
  subdirs: (path) =>
    nodeFs()
      .readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
};

/**
 * Wait `ms` milliseconds without blocking the thread: the waits here (a freezer settling, a
 * cgroup emptying after SIGKILL) are a few milliseconds, and a library caller's event loop
 * goes on serving its other work meanwhile.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
