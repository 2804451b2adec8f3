/** Placeholder until the cgroups module lands: no cgroup, the container sees an empty cgroup tmpfs. */
import type { CgroupMountSource } from "../plan/context.ts";
import type { Spec } from "../spec/types.ts";

export interface ContainerCgroup {
  path?: string;
  mountSource: CgroupMountSource;
  join(pid: number): void;
  destroy(): void;
}

export function setUpCgroup(_spec: Spec, _id: string): ContainerCgroup {
  return { mountSource: { kind: "v1", hierarchies: [] }, join() {}, destroy() {} };
}
export function isFrozen(_path: string): boolean {
  return false;
}
export function killCgroup(_path: string, _signal: number): void {}
export function openContainerCgroup(_path: string): ContainerCgroup {
  return setUpCgroup({} as Spec, "");
}
export function containerPids(st: { pid: number }): number[] {
  return [st.pid];
}
