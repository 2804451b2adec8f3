/**
 * Plain synchronous writes to fds 1 and 2. Under Bun, touching process.stdout/stderr builds a
 * stream and costs ~15 ms per process (measured); a runtime CLI is started many times per
 * container, and its output is a line or two.
 */
import { writeSync } from "node:fs";

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    }
  }
}

export const stdout = (text: string): void => writeAll(1, text);
export const stderr = (text: string): void => writeAll(2, text);

/** Where warnings go when the caller does not take them: one `husk: warning:` line on stderr. */
export function printWarning(message: string): void {
  stderr(`husk: warning: ${message}\n`);
}
