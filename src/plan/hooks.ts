/**
 * Hooks the container process runs itself: createContainer (in the container's namespaces,
 * before the root switch, so the hook's path still resolves on the host, as the spec asks) and
 * startContainer (after `start`, just before exec, path resolved in the container). husk runs
 * the runtime-namespace hooks (prestart, createRuntime, poststart, poststop) in TypeScript.
 */
import type { Hook, Spec } from "../oci/types.ts";
import type { Step } from "./ops.ts";
import { containerState, PID_HOLE, withPidHoles } from "./state-json.ts";

/** prestart or createRuntime hooks: husk runs them while the child waits before its root switch. */
export function hasRuntimeHooks(spec: Spec): boolean {
  const h = spec.hooks ?? {};
  return (h.prestart?.length ?? 0) > 0 || (h.createRuntime?.length ?? 0) > 0;
}

/**
 * The container's own hooks. createContainer hooks run with the rootfs (as mounted in the
 * container's mount namespace) as their working directory, as runc runs them, so a hook may
 * name paths in it relatively ("touch ./lib/x && mount --bind … ./lib/x"); `rootfs` is its
 * path. startContainer hooks run where the process will: in process.cwd.
 */
export function planContainerHooks(
  spec: Spec,
  kind: "createContainer" | "startContainer",
  info: { id: string; bundle: string },
  rootfs?: string,
): Step[] {
  const hooks: Hook[] = spec.hooks?.[kind] ?? [];
  if (hooks.length === 0) return [];
  const state = withPidHoles(containerState(spec, { ...info, pid: PID_HOLE }));
  const chdir: Step[] = rootfs
    ? [
        {
          what: `change directory to the rootfs "${rootfs}" for the ${kind} hooks`,
          origin: `hooks.${kind}`,
          op: { op: "chdir", path: rootfs, optional: false },
        },
      ]
    : [];
  return chdir.concat(
    hooks.map((hook, i) => ({
      what: `error running hook "${hook.path}"`,
      origin: `hooks.${kind}[${i}]`,
      errors: { ETIMEDOUT: `timed out after ${hook.timeout}s` },
      op: {
        op: "runHook",
        path: hook.path,
        args: hook.args?.length ? hook.args : [hook.path],
        env: hook.env ?? [],
        timeout: hook.timeout ?? 0,
        state,
      },
    })),
  );
}
