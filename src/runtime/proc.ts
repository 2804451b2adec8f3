/** Facts about processes read from /proc. */
import { files } from "../sys/files.ts";

export interface ProcStat {
  state: string;
  /** The parent's pid (0 for none). */
  ppid: number;
  startTime: string;
}

export function procStat(pid: number): ProcStat | null {
  if (pid <= 0) return null;
  let text: string;
  try {
    text = files().readFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", ppid: Number(fields[1] ?? 0), startTime: fields[19] ?? "" };
}

/** Is `pid` alive and the same process that had `startTime` (not a zombie, not reused)? */
export function isAlive(pid: number, startTime: string): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== "Z" && st.state !== "X" && st.startTime === startTime;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Wait until the process is gone (or a zombie), polling; false on timeout. A process killed
 * with SIGKILL is usually gone within a millisecond: the first polls only yield to the event
 * loop (a 2 ms timer from the start cost every `delete --force` ~2.5 ms), later ones sleep.
 */
export async function waitGone(pid: number, startTime: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let polls = 0; isAlive(pid, startTime); polls++) {
    if (Date.now() > deadline) return false;
    await (polls < 100 ? new Promise((r) => setImmediate(r)) : sleep(2));
  }
  return true;
}
