/**
 * The CLI executable starts with JavaScriptCore's tier-up thresholds scaled up
 * (`--compile-jit-policy`, scripts/build-cli.ts): a verb's code runs once, and compiling it
 * costs more than the interpreter does (`husk run --rm`: 5 ms less, `husk-runtime run` 2.5).
 * Whatever is still running after a while is long-lived (a pull, `logs -f`, a terminal) and
 * gets the normal JIT back. Node, and Bun started from the sources, have nothing to undo.
 */
const NORMAL_AFTER_MS = 100;

export function normalJitLater(): void {
  if (typeof globalThis.Bun === "undefined") return;
  setTimeout(() => Bun.unsafe.setJITPolicy?.(1), NORMAL_AFTER_MS).unref();
}
