/** Signal names and numbers as `kill` accepts them: 9, KILL, SIGKILL. */
import { HuskError } from "../errors.ts";

/** node:os when a name is to be looked up, not at load: every runtime verb loads this module (~0.2–0.4 ms under Bun). */
const signalNumbers = () =>
  (process.getBuiltinModule("node:os") as typeof import("node:os")).constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n; // 0: only whether the process exists, as kill(2)
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = signalNumbers()[name];
    if (n !== undefined) return n;
  }
  throw new HuskError(`unknown signal "${text}"`);
}
