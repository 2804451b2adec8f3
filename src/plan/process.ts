/**
 * Process steps: limits, credentials, capabilities and the final exec.
 *
 * Order (kernel constraints):
 *   - rlimits before dropping privileges: raising a hard limit needs CAP_SYS_RESOURCE; so the
 *     scheduling policy (a real-time one needs CAP_SYS_NICE), I/O priority and personality.
 *   - the bounding set is dropped while we still hold CAP_SETPCAP.
 *   - PR_SET_KEEPCAPS across setresuid, or the permitted set is cleared when leaving uid 0;
 *     then capset sets the final sets and the ambient ones are raised (they must be in
 *     permitted and inheritable).
 *   - cwd: before the id change (a root-only directory, while root has its capabilities) and,
 *     only if that was refused, after it (a directory only the user may enter; root squash on NFS).
 *   - no_new_privs last but before exec; exec.fifo waits just before exec.
 */

import { posix } from "node:path";
import { HuskError } from "../errors.ts";
import { capMask } from "../oci/capabilities.ts";
import { RLIMITS, rlimitValue } from "../oci/rlimits.ts";
import { ioprioValue, PERSONALITY, SCHED_FLAG, SCHED_POLICY } from "../oci/scheduling.ts";
import type { LinuxSeccomp, Mount, Process, Spec } from "../oci/types.ts";
import { NEW_LISTENER } from "../seccomp/actions.ts";
import { type CompiledSeccomp, seccompWanted } from "../seccomp/wanted.ts";
import type { PlanContext } from "./context.ts";
import type { Step } from "./ops.ts";
import { containerState, PID_HOLE, withPidHoles } from "./state-json.ts";

/** Who loads the filter, for the state a seccomp agent receives. */
export interface SeccompProcess {
  id: string;
  bundle: string;
  /** exec: the container's init (the process itself is new); create/run: the process is the init. */
  initPid?: number;
}

/**
 * The container's seccomp filter, compiled (runc applies the same filter to exec'd processes).
 * With SCMP_ACT_NOTIFY rules the listener goes to the agent at linux.seccomp.listenerPath with
 * runc's container process state: {ociVersion, fds: ["seccompFd"], pid, metadata, state}.
 */
export function planSeccomp(
  spec: Spec,
  proc: SeccompProcess,
  compile: (seccomp: LinuxSeccomp) => CompiledSeccomp,
): { load?: SeccompLoad; warnings: string[] } {
  const seccomp = spec.linux?.seccomp;
  if (!seccompWanted(seccomp)) return { warnings: [] };
  const { filter, flags, warnings } = compile(seccomp);
  if (!(flags & NEW_LISTENER)) return { load: { filter, flags }, warnings };
  const state = containerState(spec, {
    id: proc.id,
    bundle: proc.bundle,
    pid: proc.initPid ?? PID_HOLE,
    status: proc.initPid ? "running" : "creating",
  });
  const processState = {
    ociVersion: spec.ociVersion,
    fds: ["seccompFd"],
    pid: PID_HOLE,
    metadata: seccomp.listenerMetadata ?? "",
    state,
  };
  const listener = { path: seccomp.listenerPath as string, state: withPidHoles(processState) };
  return { load: { filter, flags, listener }, warnings };
}

/** Connect to the seccomp agent while its socket's path still resolves on the host. */
export function planListenerConnect(load: SeccompLoad | undefined): Step[] {
  if (!load?.listener) return [];
  return [
    {
      what: `failed to connect with seccomp agent at "${load.listener.path}"`,
      origin: "linux.seccomp.listenerPath",
      op: { op: "listenerConnect", path: load.listener.path },
    },
  ];
}

const PR_SET_KEEPCAPS = 8;
const PR_SET_NO_NEW_PRIVS = 38;

/** Steps run early in the child, while the host /proc is still visible. */
export function planEarlyProcess(spec: Spec): Step[] {
  const steps: Step[] = [];
  const adj = spec.process?.oomScoreAdj;
  if (adj !== undefined) {
    steps.push({
      what: "set oom_score_adj",
      origin: "process.oomScoreAdj",
      op: { op: "writeFile", path: "/proc/self/oom_score_adj", where: 0, data: String(adj) },
    });
  }
  return steps;
}

/** rlimits, credentials, capabilities, cwd, umask, fd hygiene; everything up to (not incl.) exec. */
/** A compiled seccomp filter, to load at the point runc would. */
export interface SeccompLoad {
  filter: Uint8Array;
  flags: number;
  /** SCMP_ACT_NOTIFY: the agent's socket and the state sent with the listener. */
  listener?: { path: string; state: string[] };
}

function seccompSteps(load: SeccompLoad): Step[] {
  const steps: Step[] = [
    { what: "load the seccomp filter", origin: "linux.seccomp", op: { op: "seccomp", filter: load.filter, flags: load.flags } },
  ];
  if (load.listener) {
    steps.push({
      what: "hand the seccomp listener to the agent",
      origin: "linux.seccomp.listenerPath",
      op: { op: "sendListener", state: load.listener.state },
    });
  }
  return steps;
}

/**
 * Personality, scheduling policy and I/O priority: while the process still has every
 * capability (a real-time policy needs CAP_SYS_NICE) and before seccomp, as runc does.
 */
function planSchedulingAndPersonality(spec: Spec): Step[] {
  const steps: Step[] = [];
  const persona = spec.linux?.personality;
  if (persona) {
    // No flag is defined by the spec; silently dropping one would be worse than refusing.
    if (persona.flags?.length) throw new HuskError("personality flags are not supported", { origin: "linux.personality.flags" });
    steps.push({
      what: `set personality ${persona.domain}`,
      origin: "linux.personality",
      op: { op: "personality", persona: PERSONALITY[persona.domain] },
    });
  }
  const sched = spec.process?.scheduler;
  if (sched) {
    steps.push({
      what: `set scheduling policy ${sched.policy}`,
      origin: "process.scheduler",
      op: {
        op: "schedSetattr",
        policy: SCHED_POLICY[sched.policy],
        flags: (sched.flags ?? []).reduce((bits, f) => bits | SCHED_FLAG[f], 0),
        nice: sched.nice ?? 0,
        priority: sched.priority ?? 0,
        runtime: sched.runtime ?? 0,
        deadline: sched.deadline ?? 0,
        period: sched.period ?? 0,
      },
    });
  }
  const io = spec.process?.ioPriority;
  if (io) {
    steps.push({
      what: `set I/O priority ${io.class} ${io.priority}`,
      origin: "process.ioPriority",
      op: { op: "ioprioSet", value: ioprioValue(io.class, io.priority) },
    });
  }
  return steps;
}

export function planCredentials(
  spec: Spec,
  ctx: Pick<PlanContext, "preserveFds">,
  canSetgroups: boolean,
  seccomp?: SeccompLoad,
): Step[] {
  const p = spec.process;
  if (!p) return [];
  // Only stdio and the preserved fds reach the container. First, so that nothing else is open
  // without close-on-exec while the container's cwd is looked up (the helper's own fds are
  // close-on-exec from the start, and none of them is a host directory).
  const steps: Step[] = [{ what: "close inherited file descriptors", op: { op: "closeFrom", first: 3 + ctx.preserveFds } }];
  (p.rlimits ?? []).forEach((r, i) => {
    const resource = RLIMITS[r.type];
    steps.push({
      what: `set ${r.type} to ${r.soft}/${r.hard}`,
      origin: `process.rlimits[${i}]`,
      op: { op: "setrlimit", resource, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) },
    });
  });
  steps.push(...planSchedulingAndPersonality(spec));
  steps.push(chdirStep(p.cwd, true));
  // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while we
  // still have it, before the user and capability change (runc's order).
  if (seccomp && !p.noNewPrivileges) steps.push(...seccompSteps(seccomp));

  const caps = p.capabilities ?? {};
  steps.push({ what: "keep capabilities across the user change", op: { op: "prctl", option: PR_SET_KEEPCAPS, arg: 1 } });
  steps.push({
    what: "drop bounding capabilities",
    origin: "process.capabilities.bounding",
    op: { op: "capBounding", keep: capMask(caps.bounding ?? []) },
  });
  const user = p.user;
  if (canSetgroups) {
    const gids = user.additionalGids ?? [];
    steps.push({
      what: `set supplementary groups [${gids.join(",")}]`,
      origin: "process.user.additionalGids",
      op: { op: "setgroups", gids },
    });
  }
  // EINVAL: the kernel left an id unchanged (the helper checks what it got).
  steps.push({
    what: `set gid ${user.gid}`,
    origin: "process.user.gid",
    errors: { EINVAL: "the kernel cannot set this gid" },
    op: { op: "setresgid", gid: user.gid },
  });
  steps.push({
    what: `set uid ${user.uid}`,
    origin: "process.user.uid",
    errors: { EINVAL: "the kernel cannot set this uid" },
    op: { op: "setresuid", uid: user.uid },
  });
  steps.push({ what: "stop keeping capabilities", op: { op: "prctl", option: PR_SET_KEEPCAPS, arg: 0 } });
  steps.push({
    what: "set capabilities",
    origin: "process.capabilities",
    op: {
      op: "capset",
      effective: capMask(caps.effective ?? []),
      permitted: capMask(caps.permitted ?? []),
      inheritable: capMask(caps.inheritable ?? []),
    },
  });
  // The kernel raises an ambient capability only if it is both permitted and inheritable.
  // runc's default spec lists ambient ones without inheritable and runc ignores the refusal;
  // husk gets the same result by asking only for what the kernel can grant.
  const ambient = capMask(caps.ambient ?? []) & capMask(caps.permitted ?? []) & capMask(caps.inheritable ?? []);
  if (ambient !== 0n) {
    steps.push({
      what: "raise ambient capabilities",
      origin: "process.capabilities.ambient",
      op: { op: "capAmbient", raise: ambient },
    });
  }
  steps.push(chdirStep(p.cwd, false));
  steps.push({ what: "set umask", origin: "process.user.umask", op: { op: "umask", mask: user.umask ?? 0o022 } });
  if (p.noNewPrivileges) {
    steps.push({
      what: "set no_new_privs",
      origin: "process.noNewPrivileges",
      op: { op: "prctl", option: PR_SET_NO_NEW_PRIVS, arg: 1 },
    });
    // With no_new_privs, as late as possible: fewer syscalls for the profile to allow.
    if (seccomp) steps.push(...seccompSteps(seccomp));
  }
  return steps;
}

/** chdir, checked by the helper to end inside the root (EXDEV when it does not). */
function chdirStep(cwd: string, optional: boolean): Step {
  return {
    what: `change directory to "${cwd}"`,
    origin: "process.cwd",
    errors: { EXDEV: "the working directory resolves outside the container's root" },
    op: { op: "chdir", path: cwd, optional },
  };
}

function execErrors(argv0: string): Record<string, string> | undefined {
  // The words podman and docker turn into exit codes 127 and 126, as runc prints them.
  return argv0.includes("/") ? undefined : { ENOENT: "executable file not found in $PATH" };
}

/** Look the program up before the start barrier, so a missing one fails `create`, as with runc. */
export function planCheckExec(spec: Spec): Step {
  const argv = spec.process?.args ?? [];
  return {
    what: `exec ${JSON.stringify(argv[0] ?? "")}`,
    origin: "process.args",
    errors: execErrors(argv[0] ?? ""),
    op: { op: "checkExec", argv, env: spec.process?.env ?? [] },
  };
}

export function planExec(spec: Spec): Step {
  const p = spec.process;
  const argv = p?.args ?? [];
  return {
    what: `exec ${JSON.stringify(argv[0] ?? "")}`,
    origin: "process.args",
    errors: execErrors(argv[0] ?? ""),
    op: { op: "exec", argv, env: p?.env ?? [] },
  };
}

/** A terminal is handed over the console socket; without one there is nowhere to send it. */
export function requireConsoleSocket(process: Process, socket: string | undefined, foreground = false): void {
  if (process.terminal && !socket && !foreground) {
    throw new HuskError("a terminal needs --console-socket (or a foreground run)", { origin: "process.terminal" });
  }
}

/** A foreground terminal without --console-socket: the helper's parent proxies the caller's. */
export function planConsoleProxy(): Step {
  return { what: "make the terminal's proxy channel", origin: "process.terminal", op: { op: "consoleProxy" } };
}

/** Connect to --console-socket: it lives on the host, so before the root switch or setns(mnt). */
export function planConsoleConnect(socket: string): Step {
  return {
    what: `connect to console socket "${socket}"`,
    origin: "--console-socket",
    op: { op: "consoleConnect", path: socket },
  };
}

/**
 * The pty, made inside the container, its master sent over the console socket. Like runc, the
 * slave is handed to the process' user (it is made while the process is still root); its group
 * is the one devpts gives it when the container's /dev/pts is mounted with gid= (the tty group
 * of runc's default spec), else the process' own.
 */
export function planConsole(process: Process, mounts: Mount[] = []): Step {
  const size = process.consoleSize;
  const devpts = mounts.filter((m) => posix.normalize(m.destination) === "/dev/pts" && m.type === "devpts").pop();
  const devptsGid = devpts?.options?.some((o) => o.startsWith("gid=")) ?? false;
  return {
    what: "create the console",
    origin: "process.terminal",
    op: {
      op: "console",
      rows: size?.height ?? 0,
      cols: size?.width ?? 0,
      uid: process.user.uid,
      gid: devptsGid ? -1 : process.user.gid,
    },
  };
}
