/**
 * Which seccomp filter an engine container gets, docker's way: "unconfined" none; privileged
 * none unless the caller names a profile; else husk's default profile (seccomp-profile.ts) or
 * the caller's (a file read here, or an object), adapted to the container's capabilities and
 * this kernel (seccomp-docker.ts).
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { HuskError } from "../errors.ts";
import type { LinuxSeccomp } from "../oci/types.ts";
import { dockerProfileToOci } from "./seccomp-docker.ts";
import { defaultSeccomp } from "./seccomp-profile.ts";
import type { SeccompChoice } from "./security.ts";

/** The filter for a container holding `caps`; undefined: none. */
export function seccompFor(choice: SeccompChoice, privileged: boolean, caps: string[]): LinuxSeccomp | undefined {
  if (choice.kind === "unconfined" || (privileged && choice.kind === "default")) return undefined;
  const kernel = release();
  if (choice.kind === "default") return defaultSeccomp(caps, kernel);
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
