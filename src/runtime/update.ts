/**
 * `update`: change a running container's cgroup limits. The new values are written, then
 * merged into the saved spec so later updates and `husk events` see them.
 */
import type { LinuxResources } from "../cgroups/resources.ts";
import { HuskError } from "../errors.ts";
import type { Spec } from "../spec/types.ts";
import { reopenCgroup } from "./cgroup-setup.ts";
import { readState, stateDir, writeState } from "./state.ts";
import { containerStatus } from "./status.ts";

function merge<T extends object>(base: T | undefined, patch: T): T {
  const out: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const old = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && old && typeof old === "object" ? merge(old as object, v) : v;
  }
  return out as T;
}

export function updateContainer(root: string, id: string, resources: LinuxResources): void {
  const st = readState(root, id);
  if (containerStatus(root, st) === "stopped") throw new HuskError("container not running");
  for (const warning of reopenCgroup(st.cgroupPaths).set(resources)) process.emitWarning(warning);
  // The cgroups module types device rules loosely (any string); the spec's type is the stricter form.
  const merged = merge(st.spec.linux?.resources as LinuxResources | undefined, resources);
  const spec: Spec = { ...st.spec, linux: { ...st.spec.linux, resources: merged as NonNullable<Spec["linux"]>["resources"] } };
  writeState(stateDir(root, id), { ...st, spec });
}
