/**
 * State JSON that the container process hands out itself (to createContainer/startContainer
 * hooks, to a seccomp agent) while its pid as husk sees it is not known yet when the plan is
 * compiled. The JSON is compiled with holes: the helper joins the parts with the pid.
 */
import type { Spec } from "../oci/types.ts";

/** The runtime-spec state (runtime-tools and crun say "created" before start; so does husk). */
export function containerState(
  spec: Spec,
  info: { id: string; pid: number; bundle: string; status?: string },
): Record<string, unknown> {
  return {
    ociVersion: spec.ociVersion,
    id: info.id,
    status: info.status ?? "created",
    pid: info.pid,
    bundle: info.bundle,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
}

/** Marks where the pid goes: every `"pid": PID_HOLE` in the value. */
export const PID_HOLE = -1;

/**
 * JSON text of `value` split at each `"pid":-1`, ready for the helper to join with the pid.
 * A quote inside a string value is escaped, so the marker cannot occur inside one.
 */
export function withPidHoles(value: unknown): string[] {
  const marker = `"pid":${PID_HOLE}`;
  const parts = JSON.stringify(value).split(marker);
  return parts.map((part, i) => (i < parts.length - 1 ? `${part}"pid":` : part));
}
