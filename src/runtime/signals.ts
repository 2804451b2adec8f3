/** Signal names and numbers as `kill` accepts them: 9, KILL, SIGKILL. */
import { constants } from "node:os";
import { HuskError } from "../errors.ts";

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n; // 0: only whether the process exists, as kill(2)
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = SIGNALS[name];
    if (n !== undefined) return n;
  }
  throw new HuskError(`unknown signal "${text}"`);
}
