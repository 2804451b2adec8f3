import { cgroupFeatures } from "../cgroups/index.ts";
import { CAPABILITIES } from "../spec/capabilities.ts";
import { OCI_VERSION } from "../spec/default-spec.ts";
import { KNOWN_MOUNT_OPTIONS } from "../spec/mount-options.ts";
import { NAMESPACE_TYPES } from "../spec/namespaces.ts";
import { stdout } from "../sys/stdio.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "features",
  usage: "",
  summary: "show what this runtime supports, as runc's features JSON",
  flags: [],
  run() {
    const features = {
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
      annotations: { "io.github.husk.version": "0.1.0" },
    };
    stdout(`${JSON.stringify(features, null, "    ")}\n`);
    return 0;
  },
};
export default verb;
