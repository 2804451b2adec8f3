/**
 * What husk's seccomp supports, shaped like runc's `features` output (runtime-spec
 * features.md, `linux.seccomp`).
 */
import type { SeccompAction, SeccompArch, SeccompFlag, SeccompOperator } from "../oci/types.ts";
import { FILTER_FLAGS } from "./actions.ts";
import { SUPPORTED_ARCHES } from "./arches.ts";

export interface SeccompFeatures {
  enabled: boolean;
  actions: SeccompAction[];
  operators: SeccompOperator[];
  archs: SeccompArch[];
  knownFlags: SeccompFlag[];
  supportedFlags: SeccompFlag[];
}

export function seccompFeatures(): SeccompFeatures {
  const knownFlags = Object.keys(FILTER_FLAGS) as SeccompFlag[];
  return {
    enabled: true,
    actions: [
      "SCMP_ACT_ALLOW",
      "SCMP_ACT_ERRNO",
      "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",
      "SCMP_ACT_TRACE",
      "SCMP_ACT_TRAP",
    ],
    operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
    archs: [...SUPPORTED_ARCHES],
    knownFlags,
    supportedFlags: knownFlags,
  };
}
