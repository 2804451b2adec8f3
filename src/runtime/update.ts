/**
 * `update`: change a running container's cgroup limits. The new values are written, then
 * merged into the saved spec so later updates and `husk events` see them.
 */
import type { LinuxResources } from "../cgroups/resources.ts";
import { ConflictError } from "../errors.ts";
import { launch } from "../helper/driver.ts";
import type { Spec } from "../oci/types.ts";
import { planDeviceFilter } from "../plan/cgroup.ts";
import { reopenCgroup, withDefaultDevices } from "./cgroup-setup.ts";
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

export async function updateContainer(
  root: string,
  id: string,
  resources: LinuxResources,
  onWarning: (message: string) => void,
): Promise<void> {
  const st = readState(root, id);
  if (containerStatus(root, st) === "stopped") throw new ConflictError("container not running");
  // New device rules replace the old ones, so the default devices come with them as at create.
  const set = reopenCgroup(st.cgroupPaths).set(withDefaultDevices(resources));
  for (const warning of set.warnings) onWarning(warning);
  // cgroup v2 device rules: only the helper may call bpf(); a plan without clone runs in it.
  if (set.deviceFilter) await launch([planDeviceFilter(set.deviceFilter)], { preserveFds: 0 });
  // The cgroups module types device rules loosely (any string); the spec's type is the stricter form.
  const merged = merge(st.spec.linux?.resources as LinuxResources | undefined, resources);
  const spec: Spec = { ...st.spec, linux: { ...st.spec.linux, resources: merged as NonNullable<Spec["linux"]>["resources"] } };
  writeState(stateDir(root, id), { ...st, spec });
}
