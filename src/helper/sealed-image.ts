/**
 * The helper's sealed copy, kept for this process's later helpers.
 *
 * A helper that runs a container's plan first re-executes itself from a sealed memfd copy of its
 * binary (CVE-2019-5736, see reexec_sealed in native/helper.c). A process that makes many
 * containers (the library) would copy the 150 KB binary and exec the helper twice for each. So
 * once a helper of this process runs from its copy, we open that copy through the helper's
 * /proc/<pid>/exe and start later helpers from it: they find their executable sealed already and
 * skip the copy and the second exec (~0.5 ms a container, measured with Engine.run).
 *
 * Process-wide and memoised, as packageRoot is: the copy's seals forbid any write to it by
 * anyone, it is the same binary for every Runtime and Engine, and an fd per instance would leak
 * one for each instance a service makes. The fd is close-on-exec, so no child inherits it; a
 * helper is started through /proc/<our pid>/fd/<n>, which the kernel resolves before it execs.
 */
import { nodeFs } from "../sys/files.ts";

let sealed: string | undefined;
let decided = false;

/** The path to exec helpers from, once a helper's sealed copy is kept; else undefined (the binary on disk). */
export function sealedHelper(): string | undefined {
  return sealed;
}

/**
 * Keep helper `pid`'s executable if it is the sealed copy (a memfd the helper named husk-helper):
 * called once the helper has said its child's pid, by when it has re-executed. Until one is
 * kept (a helper already gone cannot be opened; the next is tried), helpers start from the disk
 * as before and each makes its own copy.
 */
export function keepSealedHelper(pid: number): void {
  if (decided) return;
  const fs = nodeFs();
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/exe`, "r");
  } catch {
    return;
  }
  decided = true;
  // Only the helper makes a memfd by this name, and it seals the copy before it runs from it.
  if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith("/memfd:husk-helper")) sealed = `/proc/${process.pid}/fd/${fd}`;
  else fs.closeSync(fd);
}
