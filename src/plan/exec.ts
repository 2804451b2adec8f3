/**
 * compileExecPlan: a new process in a running container (`husk exec`). The helper joins every
 * namespace the container has through /proc/<init>/ns/*, forks (a pid namespace only applies
 * to children), and the child takes the process' credentials and execs. The user namespace is
 * joined first and the mount namespace last (see namespaces.ts); setns into the mount
 * namespace also moves root and cwd to the container's root, which is what chroot would do.
 */

import { parseCpuList } from "../cgroups/convert.ts";
import { HuskError } from "../errors.ts";
import { CLONE, NS_PROC_NAME } from "../oci/namespaces.ts";
import type { Process, Spec } from "../oci/types.ts";
import { planCgroupJoin } from "./cgroup.ts";
import type { PlanContext } from "./context.ts";
import { JOIN_ORDER } from "./namespaces.ts";
import { CloneMode, type Step } from "./ops.ts";
import {
  planConsole,
  planConsoleConnect,
  planConsoleProxy,
  planCredentials,
  planExec,
  planListenerConnect,
  planSeccomp,
  requireConsoleSocket,
} from "./process.ts";

export interface ExecContext
  extends Pick<PlanContext, "preserveFds" | "consoleSocket" | "cgroupJoin" | "compileSeccomp" | "host" | "ownerLifeline"> {
  /** The container's init pid, whose namespaces the process joins. */
  initPid: number;
  /**
   * The process may be given its supplementary groups: the caller is root of the container's
   * user namespace (or of the one it is in) and that namespace's setgroups is not "deny", as
   * runc decides. Default: host.root.
   */
  setgroups?: boolean;
  /** Container id and bundle, for the state a seccomp agent receives. */
  id: string;
  bundle: string;
  detach: boolean;
}

export function compileExecPlan(spec: Spec, process: Process, ctx: ExecContext): Step[] {
  // As for the container's own process: a label husk cannot apply is refused, not ignored.
  if (process.apparmorProfile) throw new HuskError("AppArmor is not supported", { origin: "process.apparmorProfile" });
  if (process.selinuxLabel && ctx.host.selinux)
    throw new HuskError("SELinux is not supported", { origin: "process.selinuxLabel" });
  requireConsoleSocket(process, ctx.consoleSocket, !ctx.detach);
  const steps: Step[] = [];
  // A foreground terminal without --console-socket: the helper's parent proxies the caller's.
  if (process.terminal && !ctx.consoleSocket) steps.push(planConsoleProxy());
  const has = new Set((spec.linux?.namespaces ?? []).map((ns) => ns.type));
  const seccomp = planSeccomp(spec, { id: ctx.id, bundle: ctx.bundle, initPid: ctx.initPid }, ctx.compileSeccomp);
  // The console and agent sockets live on the host: connect before leaving its mount namespace.
  if (process.terminal && ctx.consoleSocket) steps.push(planConsoleConnect(ctx.consoleSocket));
  steps.push(...planListenerConnect(seccomp.load));
  const cgroup = planCgroupJoin(ctx.cgroupJoin);
  steps.push(...cgroup.open);
  // The exec process' own CPU affinity, or the container's (never the init's: runtime-spec).
  const affinity = process.execCPUAffinity ?? spec.process?.execCPUAffinity;
  const pin = (field: "initial" | "final"): Step[] => {
    const list = affinity?.[field];
    if (!list) return [];
    return [
      {
        what: `pin to CPUs ${list}`,
        origin: `process.execCPUAffinity.${field}`,
        op: { op: "setAffinity", cpus: parseCpuList(list) },
      },
    ];
  };
  steps.push(...pin("initial"));
  const late: Step[] = [];
  for (const type of JOIN_ORDER) {
    if (!has.has(type)) continue;
    const path = `/proc/${ctx.initPid}/ns/${NS_PROC_NAME[type]}`;
    const what = `join the container's ${type} namespace`;
    // The child joins the cgroup namespace itself: clone3 may only place it in a cgroup
    // that lies inside its parent's cgroup namespace.
    if (type === "cgroup") {
      steps.push({ what, op: { op: "openNs", path, nstype: CLONE[type] } });
      late.push({ what, op: { op: "joinOpenedNs" } });
    } else {
      steps.push({ what, op: { op: "setns", path, nstype: CLONE[type] } });
    }
  }
  if (ctx.ownerLifeline && !ctx.detach && !(process.terminal && !ctx.consoleSocket))
    steps.push({ what: "tie the process to husk's process", op: { op: "ownerLifeline" } });
  steps.push({ what: "create the process", op: { op: "clone", flags: 0, mode: ctx.detach ? CloneMode.Detach : CloneMode.Wait } });
  // Joining a cpuset resets the affinity: the final one comes after.
  steps.push(...cgroup.join, ...late, ...pin("final"));
  if (process.terminal) {
    steps.push({ what: "start a new session", op: { op: "setsid" } });
    steps.push(planConsole(process, spec.mounts));
  }
  const execSpec: Spec = { ...spec, process };
  steps.push(...planCredentials(execSpec, { preserveFds: ctx.preserveFds }, ctx.setgroups ?? ctx.host.root, seccomp.load));
  steps.push(planExec(execSpec));
  return steps;
}
