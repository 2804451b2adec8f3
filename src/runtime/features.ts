/**
 * What this runtime supports, as runc's `features` JSON.
 */
import { cgroupFeatures } from "../cgroups/index.ts";
import { CAPABILITIES } from "../oci/capabilities.ts";
import { OCI_VERSION } from "../oci/default-spec.ts";
import { KNOWN_MOUNT_OPTIONS } from "../oci/mount-options.ts";
import { NAMESPACE_TYPES } from "../oci/namespaces.ts";
import { packageVersion } from "./version.ts";

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: KNOWN_MOUNT_OPTIONS,
    linux: {
      namespaces: NAMESPACE_TYPES,
      capabilities: CAPABILITIES,
      cgroup: cgroupFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
    },
    annotations: { "io.github.husk.version": packageVersion() },
  };
}
