/**
 * docker's --restart for a daemonless engine: a detached container's monitor runs `husk
 * _exited` when it ends, and that process starts it again when the policy says so, after a
 * back-off (100 ms, doubled per quick restart, at most a minute; back to 100 ms once it ran for
 * 10 s, as docker's). A container stopped by `husk stop` is not restarted until it is started
 * by hand. Policies act while the host is up; after a reboot a boot service starts them again
 * (`husk start --all --filter restart-policy=…`, contrib/systemd/husk-restart.service, as
 * podman-restart.service does for podman).
 */
import { HuskError, quote } from "../errors.ts";

export interface RestartPolicy {
  name: "no" | "always" | "unless-stopped" | "on-failure";
  /** on-failure only: how many restarts at most (0: no limit). */
  maximumRetryCount: number;
}

const NAMES = ["no", "always", "unless-stopped", "on-failure"] as const;

/** "no", "always", "unless-stopped", "on-failure[:N]". */
export function parseRestartPolicy(text: unknown, origin = "RunOptions.restart"): RestartPolicy {
  const m = typeof text === "string" ? /^([a-z-]+)(?::(\d+))?$/.exec(text) : null;
  const name = m?.[1] as RestartPolicy["name"] | undefined;
  if (!m || !name || !(NAMES as readonly string[]).includes(name))
    throw new HuskError(`invalid restart policy ${quote(String(text))}: no, always, unless-stopped or on-failure[:N]`, {
      origin,
    });
  if (m[2] !== undefined && name !== "on-failure")
    throw new HuskError(`invalid restart policy ${quote(String(text))}: only on-failure takes a count`, { origin });
  return { name, maximumRetryCount: m[2] === undefined ? 0 : Number(m[2]) };
}

/** A policy asked for a container removed when it ends (--rm): refused where `origin` says. */
export function policyWithRemoval(origin: string): HuskError {
  return new HuskError("conflicting options: a restart policy and removing the container when it exits (--rm)", { origin });
}

/** Whether a container that ended with exitCode is started again. */
export function shouldRestart(
  policy: RestartPolicy | undefined,
  state: { exitCode: number; restartCount: number; stoppedByUser: boolean },
): boolean {
  if (!policy || policy.name === "no" || state.stoppedByUser) return false;
  if (policy.name !== "on-failure") return true;
  return state.exitCode !== 0 && (policy.maximumRetryCount === 0 || state.restartCount < policy.maximumRetryCount);
}

export const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const RAN_LONG_MS = 10_000;

/** The wait before the next restart: doubled after a quick one, reset after a run of 10 s or more. */
export function nextDelay(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= RAN_LONG_MS) return FIRST_DELAY_MS;
  return Math.min(previousMs * 2, MAX_DELAY_MS);
}
