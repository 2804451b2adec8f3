/**
 * The synchronous file operations a runtime verb makes on its way — read a state, /proc or
 * cgroup file, test a path, unlink, rmdir, statfs, write the exec fifo or an fd — behind one
 * small interface. node:fs by default (fetched on first use, not at load). The runtime CLI, on
 * Bun, puts libc through bun:ffi in its place (bun-libc.ts): loading node:fs costs Bun
 * ~1.1 ms, a third of what a verb may add to Bun's own start (bench/verb-latency.ts), and
 * start, kill and delete load bun:ffi for flock anyway. The library never switches: a caller's
 * process keeps node:fs.
 *
 * Errors are node:fs's either way: an Error with `code` (ENOENT …), a negative `errno` and
 * `syscall`, which callers test.
 */

export interface Files {
  /** The whole file as UTF-8. */
  readFile(path: string): string;
  exists(path: string): boolean;
  unlink(path: string): void;
  rmdir(path: string): void;
  /** statfs(2)'s f_type: which filesystem `path` is on. */
  fsType(path: string): number;
  /** Open a fifo for writing without blocking (ENXIO: no reader), write `data`, close. */
  writeFifo(path: string, data: string): void;
  /** write(2) to an open fd; returns the bytes written. */
  write(fd: number, data: Uint8Array, offset: number): number;
}

/**
 * node:fs, fetched when called: for what only some verbs do (create's writes, list's listing),
 * so that a module imported by every verb does not load it.
 */
export const nodeFs = () => process.getBuiltinModule("node:fs") as typeof import("node:fs");

/**
 * open(2) with `flags` (an existing file: no O_CREAT), one write(2) of data (of each string, in
 * turn, for a list), close: node:fs's. A failed write's error carries the string it was writing
 * as its `value`.
 */
export function writeOnce(path: string, flags: number, data: string | readonly string[]): void {
  const fs = nodeFs();
  const fd = fs.openSync(path, flags);
  try {
    for (const value of typeof data === "string" ? [data] : data) {
      try {
        fs.writeSync(fd, value);
      } catch (err) {
        (err as { value?: string }).value = value;
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

export const nodeFiles: Files = {
  readFile: (path) => nodeFs().readFileSync(path, "utf8"),
  exists: (path) => nodeFs().existsSync(path),
  unlink: (path) => nodeFs().unlinkSync(path),
  rmdir: (path) => nodeFs().rmdirSync(path),
  fsType: (path) => Number(nodeFs().statfsSync(path).type),
  writeFifo: (path, data) => writeOnce(path, nodeFs().constants.O_WRONLY | nodeFs().constants.O_NONBLOCK, data),
  write: (fd, data, offset) => nodeFs().writeSync(fd, data, offset),
};

let chosen: Files = nodeFiles;

/** The implementation in use: node:fs unless the CLI chose another (useFiles). */
export function files(): Files {
  return chosen;
}

/** For the CLI alone, once, before a verb runs: the library keeps node:fs. */
export function useFiles(impl: Files): void {
  chosen = impl;
}
