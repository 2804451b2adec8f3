/**
 * docker's --device: a host device node made in the container (the runtime's linux.devices,
 * with the host node's type, numbers, mode and owner) and allowed by the device cgroup with
 * the permissions asked for. The host path is checked here, when the container is made.
 */
import { type Stats, statSync } from "node:fs";
import type { LinuxResources } from "../cgroups/resources.ts";
import { HuskError, quote } from "../errors.ts";
import type { LinuxDevice } from "../oci/types.ts";
import type { DeviceSpec } from "./options.ts";

type DeviceRule = NonNullable<LinuxResources["devices"]>[number];

/** dev_t as glibc's gnu_dev_major/minor split it (12 + 20 bits, the high parts above bit 32). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  return {
    major: ((rdev >>> 8) & 0xfff) | (high & ~0xfff),
    minor: (rdev & 0xff) | ((rdev >>> 12) & ~0xff & 0xfffff),
  };
}

export function hostDevices(specs: Required<DeviceSpec>[]): { devices: LinuxDevice[]; rules: DeviceRule[] } {
  const devices: LinuxDevice[] = [];
  const rules: DeviceRule[] = [];
  for (const [i, d] of specs.entries()) {
    let st: Stats;
    try {
      st = statSync(d.path);
    } catch {
      throw new HuskError(`error gathering device information while adding device ${quote(d.path)}: no such file`, {
        origin: `RunOptions.devices[${i}]`,
      });
    }
    const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
    if (!type) throw new HuskError(`${quote(d.path)} is not a device node`, { origin: `RunOptions.devices[${i}]` });
    const { major, minor } = devNumbers(st.rdev);
    devices.push({ path: d.target, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    rules.push({ allow: true, type, major, minor, access: d.permissions });
  }
  return { devices, rules };
}
