/**
 * HUSK_TRACE=1: a line on stderr per step of a container's start and end ("husk-trace <ms>
 * <step>", ms from performance.now()), for the benchmarks' per-phase breakdown. Off, it costs a
 * property read. The line goes out with one write(2) (sys/stdio.ts): Bun builds process.stderr's
 * stream on first use, milliseconds that would land inside the first step measured.
 */
import { stderr } from "./sys/stdio.ts";

const on = typeof process !== "undefined" && process.env.HUSK_TRACE === "1";

export function trace(step: string): void {
  if (on) stderr(`husk-trace ${performance.now().toFixed(3)} ${step}\n`);
}
