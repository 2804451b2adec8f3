/**
 * Plain synchronous writes to fds 1 and 2. Under Bun, touching process.stdout/stderr builds a
 * stream and costs ~15 ms per process (measured); a runtime CLI is started many times per
 * container, and its output is a line or two. The writes go through files.ts: node:fs fetched
 * on the first write, not at load (~1.2 ms that a `--version` writing with Bun.write never
 * pays), or libc where the CLI chose it.
 */
import { files } from "./files.ts";

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += files().write(fd, buf, off);
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

/**
 * stdout for a verb that has nothing else to do with node:fs (`--version`): Bun's own writer
 * where there is one, whole before it resolves.
 */
export async function stdoutAsync(text: string): Promise<void> {
  if (typeof Bun === "undefined") return stdout(text);
  await Bun.write(Bun.stdout, text);
}
