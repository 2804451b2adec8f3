/**
 * runc's rule for the process of `exec`: a whole process (--process) replaces the container's;
 * otherwise the container's own process, changed by what the caller gives (runc's flags).
 */
import { HuskError } from "../errors.ts";
import type { Process } from "../oci/types.ts";

export interface ExecOverrides {
  args: string[];
  /** Added to the container's environment. */
  env?: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  additionalGids?: number[];
  terminal?: boolean;
  noNewPrivileges?: boolean;
  /** Capabilities added to every set. */
  addCapabilities?: string[];
}

export function mergeExecProcess(base: Process | undefined, o: ExecOverrides): Process {
  if (!base) throw new HuskError("the container has no process to base the new one on");
  if (!Array.isArray(o.args) || o.args.length === 0) throw new HuskError("exec needs a command to run", { origin: "args" });
  const p: Process = structuredClone(base);
  p.args = o.args;
  p.terminal = o.terminal === true;
  if (o.cwd !== undefined) p.cwd = o.cwd;
  if (o.env) p.env = [...(p.env ?? []), ...o.env];
  if (o.noNewPrivileges) p.noNewPrivileges = true;
  if (o.uid !== undefined) p.user = { ...p.user, uid: o.uid, gid: o.gid ?? p.user.gid };
  else if (o.gid !== undefined) p.user = { ...p.user, gid: o.gid };
  if (o.additionalGids) p.user = { ...p.user, additionalGids: o.additionalGids };
  for (const cap of o.addCapabilities ?? []) {
    p.capabilities ??= {};
    const caps = p.capabilities;
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"] as const)
      caps[set] = [...(caps[set] ?? []), cap];
  }
  return p;
}
