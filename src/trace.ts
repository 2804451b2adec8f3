/**
 * HUSK_TRACE=1: a line on stderr per step of a container's start and end ("husk-trace <ms>
 * <step>", ms from performance.now()), for the benchmarks' per-phase breakdown. Off, it costs a
 * property read.
 */
const on = typeof process !== "undefined" && process.env.HUSK_TRACE === "1";

export function trace(step: string): void {
  if (on) process.stderr.write(`husk-trace ${performance.now().toFixed(3)} ${step}\n`);
}
