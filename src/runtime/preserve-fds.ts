/**
 * preserveFds N: fds 3 … 3+N-1 are handed to the container, and the sync channel to the helper
 * takes the next number, so N is bounded by the open file limit (unbounded, 2000000000 made
 * husk allocate tens of gigabytes) and every one of those fds must be open.
 */
import { HuskError, quote } from "../errors.ts";
import { nodeFs } from "../sys/files.ts";

/** Used when /proc/self/limits cannot be read: the kernel's default ceiling (fs.nr_open). */
const NR_OPEN_DEFAULT = 1 << 20;

/** This process's RLIMIT_NOFILE soft limit (Bun raises it to the hard limit at start). */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(nodeFs().readFileSync("/proc/self/limits", "utf8"));
    if (line) return Number(line[1]);
  } catch {}
  return NR_OPEN_DEFAULT;
}

/** Check N; `name` is how the caller spelled it (--preserve-fds, preserveFds). */
export function checkPreserveFds(n: number | undefined, name: string): number {
  if (n === undefined) return 0;
  const invalid = (why: string) => new HuskError(`invalid value ${quote(String(n))} for ${name}: ${why}`);
  if (!Number.isSafeInteger(n)) throw invalid("must be an integer");
  if (n < 0) throw invalid("must not be negative");
  const limit = openFileLimit();
  if (n > limit - 4) throw invalid(`must be at most ${limit - 4} (the open file limit is ${limit})`);
  for (let fd = 3; fd < 3 + n; fd++) {
    try {
      nodeFs().fstatSync(fd);
    } catch {
      throw invalid(`fd ${fd} is not open`);
    }
  }
  return n;
}
