/**
 * What this runtime supports, as runc's `features` JSON, and the version text of `--version`
 * (the helper asked for the commit it was built from).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupFeatures } from "../cgroups/index.ts";
import { helperPath } from "../helper/path.ts";
import { CAPABILITIES } from "../oci/capabilities.ts";
import { OCI_VERSION } from "../oci/default-spec.ts";
import { KNOWN_MOUNT_OPTIONS } from "../oci/mount-options.ts";
import { NAMESPACE_TYPES } from "../oci/namespaces.ts";
import { packageRoot } from "../package-root.ts";

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

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

/** husk's version, the spec version, and the commit the helper was built from. */
export function versionInfo(): { version: string; spec: string; helper: string } {
  const helper = spawnSync(helperPath(), ["--version"], { encoding: "utf8" });
  return {
    version: packageVersion(),
    spec: OCI_VERSION,
    helper: helper.status === 0 ? helper.stdout.trim() : "unknown (helper not built)",
  };
}
