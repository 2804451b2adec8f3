/** Signal names and numbers as `kill` accepts them: 9, KILL, SIGKILL. */
import { constants } from "node:os";
import { HuskError } from "../errors.ts";

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = SIGNALS[name];
    if (n !== undefined) return n;
  }
  throw new HuskError(`unknown signal "${text}"`);
}

/** Signals a foreground `run` or `exec` passes on to the container process, as runc does. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

/** Forward those signals to `pid` until the returned function is called. */
export function forwardSignals(pid: number): () => void {
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone; its exit status will tell
    }
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
  return () => {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
  };
}
