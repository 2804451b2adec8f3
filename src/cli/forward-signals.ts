/**
 * The CLI's own signal handling for a foreground run or exec: what reaches husk goes to the
 * container process (the library installs no handlers; its callers choose).
 */
/** Signals a foreground `run` or `exec` passes on to the container process, as runc does. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

export interface SignalForwarder {
  /** Start delivering to `pid`, including what arrived before it was known. */
  target(pid: number): void;
  stop(): void;
}

/**
 * Catch those signals from now on (so none kills husk while the container is being made) and
 * forward them to the container process once `target` names it.
 */
export function forwardSignals(): SignalForwarder {
  let pid = 0;
  const pending: NodeJS.Signals[] = [];
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone; its exit status will tell
    }
  };
  const onSignal = (sig: NodeJS.Signals) => (pid ? send(sig) : pending.push(sig));
  for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);
  return {
    target(p) {
      pid = p;
      for (const sig of pending.splice(0)) send(sig);
    },
    stop() {
      for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
    },
  };
}
