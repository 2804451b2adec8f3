/**
 * A spec's JSON for state.json (create's writeState), apart from state.ts: the runtime's other
 * verbs read and remove state without loading oci/frozen.ts.
 */
import { isDeepFrozen } from "../oci/frozen.ts";
import type { Spec } from "../oci/types.ts";

/**
 * A spec's JSON. A deep-frozen seccomp profile (an engine's containers share one: see
 * oci/frozen.ts) is two thirds of it: its JSON is made once and put in as it is, last of
 * linux's members (JSON's readers do not mind the order).
 */
export function specToJson(spec: Spec): string {
  const seccomp = spec.linux?.seccomp;
  if (!isDeepFrozen(seccomp)) return JSON.stringify(spec);
  let json = seccompJson.get(seccomp);
  if (json === undefined) {
    json = JSON.stringify(seccomp);
    seccompJson.set(seccomp, json);
  }
  const { linux, ...specRest } = spec;
  const { seccomp: _, ...linuxRest } = linux as NonNullable<Spec["linux"]>;
  const inner = JSON.stringify(linuxRest).slice(1, -1);
  return `${JSON.stringify(specRest).slice(0, -1)},"linux":{${inner}${inner ? "," : ""}"seccomp":${json}}}`;
}

/** The JSON of deep-frozen seccomp profiles, by the profile (a memo of a pure stringify). */
const seccompJson = new WeakMap<object, string>();
