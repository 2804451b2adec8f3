/**
 * Hooks the container process runs itself: createContainer (in the container's namespaces,
 * before the root switch, so the hook's path still resolves on the host, as the spec asks) and
 * startContainer (after `start`, just before exec, path resolved in the container). husk runs
 * the runtime-namespace hooks (prestart, createRuntime, poststart, poststop) in TypeScript.
 */
import type { Hook, Spec } from "../spec/types.ts";
import type { Step } from "./ops.ts";

/** The state JSON a hook reads on stdin (runtime-tools and crun say "created" before start). */
export function hookState(
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

/** Any hook that needs the container's pid from husk before the container process runs it. */
export function hasSetupHooks(spec: Spec): boolean {
  const h = spec.hooks ?? {};
  return [h.prestart, h.createRuntime, h.createContainer, h.startContainer].some((list) => (list?.length ?? 0) > 0);
}

export function planContainerHooks(
  spec: Spec,
  kind: "createContainer" | "startContainer",
  info: { id: string; bundle: string },
): Step[] {
  const hooks: Hook[] = spec.hooks?.[kind] ?? [];
  if (hooks.length === 0) return [];
  // The helper writes the pid between the two halves: husk only learns it after the clone.
  const marker = '"pid":-1';
  const json = JSON.stringify(hookState(spec, { ...info, pid: -1 }));
  const at = json.indexOf(marker) + marker.length - 2;
  const statePre = json.slice(0, at);
  const statePost = json.slice(at + 2);
  return hooks.map((hook, i) => ({
    what: `run ${kind} hook "${hook.path}"`,
    origin: `hooks.${kind}[${i}]`,
    errors: { ETIMEDOUT: `timed out after ${hook.timeout}s` },
    op: {
      op: "runHook",
      path: hook.path,
      args: hook.args?.length ? hook.args : [hook.path],
      env: hook.env ?? [],
      timeout: hook.timeout ?? 0,
      statePre,
      statePost,
    },
  }));
}
