/**
 * Which seccomp filter an engine container gets, docker's way: "unconfined" none; privileged
 * none unless the caller names a profile; else husk's default profile (seccomp-profile.ts) or
 * the caller's (a file read here, or an object), adapted to the container's capabilities and
 * this kernel (seccomp-docker.ts).
 */
import { readFileSync } from "node:fs";
import { HuskError } from "../errors.ts";
import { capMask } from "../oci/capabilities.ts";
import { deepFreeze } from "../oci/frozen.ts";
import type { LinuxSeccomp } from "../oci/types.ts";
import { kernelRelease } from "../runtime/host-facts.ts";
import { writeCacheFile } from "../runtime/seccomp-cache.ts";
import { dockerProfileToOci } from "./seccomp-docker.ts";
import { defaultSeccomp } from "./seccomp-profile.ts";
import type { SeccompChoice } from "./security.ts";

declare const HUSK_BUILD: string | undefined;

/** What seccompFor keeps between containers: an Engine's own (see #seccompDefaults). */
export interface SeccompHost {
  /** The kernel's release. */
  kernel: string;
  /** Where a built CLI keeps converted default profiles between runs (see cachedDefault). */
  cacheDir?: string;
  /** The default profiles made or read so far, by kernel and capabilities, frozen: one per Engine. */
  defaults?: Map<string, LinuxSeccomp>;
}

/**
 * husk's default profile for `caps` on this kernel, kept between runs in `cacheDir` by a built
 * CLI (keyed by its build stamp, the kernel and the capabilities): converting the profile is
 * ~1 ms of a cold `husk run`, reading it back a few hundred bytes of JSON. The directory is
 * root's (the state root's @seccomp-default), as the runtime's compiled-filter cache is. Within
 * one Engine it is read once: the same frozen object goes into each container's spec.
 */
function cachedDefault(caps: string[], host: SeccompHost): LinuxSeccomp {
  const key = `${host.kernel.replace(/[^\w.-]/g, "_")}-${capMask(caps).toString(16)}`;
  const kept = host.defaults?.get(key);
  if (kept) return kept;
  const profile = deepFreeze(readOrMakeDefault(caps, host, key));
  host.defaults?.set(key, profile);
  return profile;
}

function readOrMakeDefault(caps: string[], host: SeccompHost, key: string): LinuxSeccomp {
  const build = typeof HUSK_BUILD === "string" ? HUSK_BUILD : undefined;
  if (!build || !host.cacheDir) return defaultSeccomp(caps, host.kernel);
  const file = `${host.cacheDir}/${build}-${key}.json`;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LinuxSeccomp;
  } catch {}
  const profile = defaultSeccomp(caps, host.kernel);
  writeCacheFile(host.cacheDir, file, JSON.stringify(profile));
  return profile;
}

/** The filter for a container holding `caps`; undefined: none. `host`: the kernel, and the cache and memo of the default profile. */
export function seccompFor(
  choice: SeccompChoice,
  privileged: boolean,
  caps: string[],
  host: SeccompHost = { kernel: kernelRelease() },
): LinuxSeccomp | undefined {
  if (choice.kind === "unconfined" || (privileged && choice.kind === "default")) return undefined;
  if (choice.kind === "default") return cachedDefault(caps, host);
  const kernel = host.kernel;
  let profile = choice.kind === "profile" ? choice.profile : undefined;
  const source = choice.kind === "file" ? choice.path : "the profile";
  if (choice.kind === "file") {
    let text: string;
    try {
      text = readFileSync(choice.path, "utf8");
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
      throw new HuskError(`cannot read seccomp profile ${choice.path}: ${why}`, { origin: "RunOptions.seccomp" });
    }
    try {
      profile = JSON.parse(text);
    } catch (err) {
      throw new HuskError(`${choice.path}: not JSON: ${(err as Error).message}`, { origin: "RunOptions.seccomp" });
    }
  }
  return dockerProfileToOci(profile, { caps, kernel, source }, "RunOptions.seccomp");
}
