/**
 * compilePlan(spec, context) → the ordered steps the helper executes for a container's init.
 * Pure: all facts about the host arrive in the context, so every ordering decision is
 * unit-testable without root.
 *
 *   helper parent:  open cgroup files · id-mapped mounts and bind sources (user namespace) ·
 *                   console and seccomp agent connect · join namespaces · time namespace ·
 *                   clone(new namespaces, into the v2 cgroup)
 *   child:          join cgroup · oom_score_adj · wait for husk (id maps; user namespace only) ·
 *                   become root of the user namespace · cgroup namespace · setsid · session keyring ·
 *                   hostname · rootfs (mounts, devices) · wait for husk (prestart, createRuntime
 *                   hooks) · createContainer hooks · state dir ·
 *                   root switch · read-only/masked paths · sysctls · console pty · credentials and
 *                   seccomp (listener to the agent) · exec.fifo · startContainer hooks · exec
 */
import { resolve } from "node:path";
import { HuskError } from "../errors.ts";
import type { LinuxIDMapping, Spec } from "../oci/types.ts";
import { planCgroupJoin } from "./cgroup.ts";
import type { MonitorParams, PlanContext } from "./context.ts";
import { hasRuntimeHooks, planContainerHooks } from "./hooks.ts";
import { planNamespaces } from "./namespaces.ts";
import { CloneMode, type Plan, type Step } from "./ops.ts";
import {
  planCheckExec,
  planConsole,
  planConsoleConnect,
  planConsoleProxy,
  planCredentials,
  planEarlyProcess,
  planExec,
  planListenerConnect,
  planSeccomp,
  requireConsoleSocket,
} from "./process.ts";
import { planRootfs } from "./rootfs.ts";

export interface CompiledPlan {
  steps: Plan;
  /** Id maps husk writes while the child waits (new user namespace only). */
  uidMappings: LinuxIDMapping[];
  gidMappings: LinuxIDMapping[];
  /** Write "deny" to /proc/<pid>/setgroups before gid_map (unprivileged callers must). */
  denySetgroups: boolean;
  /**
   * Index of the `waitContinue` where husk runs the prestart and createRuntime hooks:
   * namespaces and mounts exist, the root is not switched yet. The container process then runs
   * its createContainer hooks. -1 when the spec has no prestart or createRuntime hooks.
   */
  hooksStep: number;
  /** Things husk will do differently from what the spec literally says (skipped syscalls…): debug output. */
  warnings: string[];
  /** What the caller should always hear about (a label ignored on a host without SELinux). */
  notices: string[];
}

function mapsRoot(maps: LinuxIDMapping[]): boolean {
  return maps.some((m) => m.containerID === 0 && m.size > 0);
}

/** The host id that is 0 in the user namespace; -1 when 0 is not mapped. */
/** `ip link set lo up` (its netlink message), sent by the container process from its own new network namespace. */
function planLoopbackUp(message: Uint8Array): Step {
  const what = "set lo up";
  return { what, parts: [what], op: { op: "netlink", ns: "", messages: message } };
}

function hostIdOfRoot(maps: LinuxIDMapping[]): number {
  return maps.find((m) => m.containerID === 0 && m.size > 0)?.hostID ?? -1;
}

export function compilePlan(spec: Spec, ctx: PlanContext): CompiledPlan {
  if (!spec.process) throw new HuskError("the container has no process to run", { origin: "process" });
  // Silently running without a requested security label would be worse than refusing.
  if (spec.process.apparmorProfile) throw new HuskError("AppArmor is not supported", { origin: "process.apparmorProfile" });
  // Likewise SELinux labels on a host with SELinux, where husk cannot apply them. Without
  // SELinux a label means nothing (runc and crun ignore it there, and runtime-tools expects
  // that): it is ignored, and said so.
  const notices: string[] = [];
  for (const [label, origin] of [
    [spec.process.selinuxLabel, "process.selinuxLabel"],
    [spec.linux?.mountLabel, "linux.mountLabel"],
  ] as const) {
    if (!label) continue;
    if (ctx.host.selinux) throw new HuskError("SELinux is not supported", { origin });
    notices.push(`${origin}: ignored: this host has no SELinux`);
  }
  // runc refuses it too where resctrl is not mounted; husk does not drive resctrl at all.
  if (spec.linux?.intelRdt) throw new HuskError("Intel RDT (resctrl) is not supported", { origin: "linux.intelRdt" });
  if (spec.linux?.netDevices && Object.keys(spec.linux.netDevices).length > 0)
    throw new HuskError("moving host network devices into the container is not supported", { origin: "linux.netDevices" });
  if (spec.linux?.memoryPolicy) throw new HuskError("NUMA memory policies are not supported", { origin: "linux.memoryPolicy" });
  const ns = planNamespaces(spec);
  const userNs = ns.created.has("user");
  const uidMappings = userNs ? (spec.linux?.uidMappings ?? []) : [];
  const gidMappings = userNs ? (spec.linux?.gidMappings ?? []) : [];
  const denySetgroups = userNs && !ctx.host.root;
  const inUserNs = userNs || ns.joined.has("user");

  const terminal = spec.process.terminal === true;
  // A foreground run's helper proxies the caller's terminal; a monitor holds the pty master itself.
  requireConsoleSocket(spec.process, ctx.consoleSocket, ctx.mode === "run" || ctx.monitor !== undefined);
  const proxied = terminal && !ctx.consoleSocket;
  // A joined mount namespace gets its rootfs set up too, as runc does; with none at all the
  // container only gets a chroot (mounting would change the host's own tree).
  const withMounts = ns.created.has("mount") || ns.joined.has("mount");
  const rootfsPath = resolve(ctx.bundle, spec.root?.path ?? "rootfs");
  const rootfs = withMounts ? planRootfs(spec, ctx, inUserNs, inUserNs && !ns.created.has("network")) : undefined;

  const cgroup = planCgroupJoin(ctx.cgroupJoin, ctx.deviceFilter, ctx.cgroupMake);
  // On the host, before any namespace is joined: cgroup files, id-mapped mounts.
  const steps: Step[] = [];
  if (proxied) steps.push(planConsoleProxy());
  // The start barrier, made by the helper (node:fs cannot make a fifo). The init opens it as
  // root of its user namespace, if it has one: the fifo is that user's, and only that user's.
  if (ctx.mode === "create") {
    const owner = userNs ? { uid: hostIdOfRoot(uidMappings), gid: hostIdOfRoot(gidMappings) } : { uid: -1, gid: -1 };
    const mode = userNs && owner.uid === -1 ? 0o666 : 0o600;
    steps.push({ what: "make exec.fifo", op: { op: "mkfifo", path: ctx.execFifo, mode, ...owner } });
  }
  steps.push(...cgroup.open, ...(rootfs?.beforeClone ?? []));
  // The console socket and the seccomp agent's live on the host: connect while the caller's
  // rights and mount namespace still apply (a new user namespace's root is nobody on the host
  // and may not reach a socket in a 0700 directory), as runc's parent does.
  const seccomp = planSeccomp(spec, { id: ctx.id, bundle: ctx.bundle }, ctx.compileSeccomp);
  if (terminal && ctx.consoleSocket) steps.push(planConsoleConnect(ctx.consoleSocket));
  steps.push(...planListenerConnect(seccomp.load));
  steps.push(...ns.beforeClone);
  if (ctx.monitor) {
    const { log, exitFile, cleanup, env } = ctx.monitor;
    steps.push({ what: `start the monitor (log ${log})`, op: { op: "monitor", log, exitFile, cleanup, env } });
    steps.push(...planAttach(ctx.monitor));
  }
  const cloneMode = ctx.monitor ? CloneMode.Monitor : ctx.mode === "run" ? CloneMode.Wait : CloneMode.Detach;
  // Detach keys keep the sync channel open beside the terminal's proxy, so the lifeline works there too.
  const detachable = proxied && cloneMode === CloneMode.Wait && ctx.detachKeys !== undefined;
  if (detachable) {
    const { keys, monitor } = ctx.detachKeys!;
    const { log, exitFile, cleanup, env } = monitor;
    steps.push({
      what: "take the detach keys",
      origin: "detachKeys",
      op: { op: "detachKeys", keys, log, exitFile, cleanup, env },
    });
    steps.push(...planAttach(monitor));
  }
  if (ctx.ownerLifeline && cloneMode === CloneMode.Wait && (!proxied || detachable))
    steps.push({ what: "tie the container to husk's process", op: { op: "ownerLifeline" } });
  // With the lifeline, where the helper's parent says the exit and with it whether the cgroup
  // is gone (without a terminal's proxy): without that word, husk would have to look for them.
  if (ctx.cgroupRemoveOnExit?.length && ctx.ownerLifeline && cloneMode === CloneMode.Wait && !proxied)
    steps.push({
      what: "remove the container's cgroup once it has exited",
      origin: "linux.cgroupsPath",
      op: { op: "cgroupRemoveOnExit", dirs: ctx.cgroupRemoveOnExit },
    });
  if (ctx.parentNetlink)
    steps.push({ what: "set up the container's network from the helper's parent", op: { op: "parentNetlink" } });
  steps.push({
    what: "create the container process",
    origin: "linux.namespaces",
    op: { op: "clone", flags: ns.cloneFlags, mode: cloneMode },
  });
  steps.push(...cgroup.join);
  steps.push(...planEarlyProcess(spec));
  // Only id maps need husk while the child waits; without a new user namespace it runs on.
  if (userNs) steps.push({ what: "wait for husk to write the id maps", op: { op: "waitContinue" } });
  if (userNs && mapsRoot(uidMappings) && mapsRoot(gidMappings)) {
    steps.push({ what: "become root in the user namespace", origin: "linux.gidMappings", op: { op: "setresgid", gid: 0 } });
    steps.push({ what: "become root in the user namespace", origin: "linux.uidMappings", op: { op: "setresuid", uid: 0 } });
  }
  steps.push(...ns.afterContinue);
  if (ctx.loopbackUp && ns.created.has("network")) steps.push(planLoopbackUp(ctx.loopbackUp));
  steps.push({ what: "start a new session", op: { op: "setsid" } });
  if (!ctx.noNewKeyring) {
    steps.push({ what: "join a new session keyring", op: { op: "joinKeyring", name: `_ses.${ctx.id}` } });
  }
  if (spec.hostname !== undefined && spec.hostname !== "") {
    steps.push({ what: `set hostname "${spec.hostname}"`, origin: "hostname", op: { op: "sethostname", name: spec.hostname } });
  }
  if (spec.domainname !== undefined && spec.domainname !== "") {
    steps.push({
      what: `set domainname "${spec.domainname}"`,
      origin: "domainname",
      op: { op: "setdomainname", name: spec.domainname },
    });
  }

  let hooksStep = -1;
  if (rootfs) steps.push(...rootfs.beforeSwitch);
  // Without hooks, the caller's pause (the engine attaching the network) comes as late as it
  // can, before the credentials: the root switch and its mounts are made while the caller works.
  const pauseLate = ctx.pauseForCaller === true && !hasRuntimeHooks(spec) && (spec.hooks?.createContainer?.length ?? 0) === 0;
  // The parent's netlink plan is done before the caller is asked to go on: what it made is there for it.
  const waitNetwork: Step[] = ctx.parentNetlink
    ? [{ what: "wait for the helper's parent to set up the container's network", op: { op: "waitParentNetlink" } }]
    : [];
  const pauseEarly = hasRuntimeHooks(spec) || (ctx.pauseForCaller === true && !pauseLate);
  if (pauseEarly) {
    steps.push(...waitNetwork);
    hooksStep = steps.length;
    steps.push({ what: "wait for the prestart and createRuntime hooks", origin: "hooks", op: { op: "waitContinue" } });
  }
  steps.push(...planContainerHooks(spec, "createContainer", { id: ctx.id, bundle: ctx.bundle }, rootfsPath));
  if (ctx.mode === "create") {
    steps.push({ what: "open exec.fifo", op: { op: "openExecFifo", path: ctx.execFifo } });
  }
  if (rootfs) {
    steps.push(...rootfs.switchRoot, ...rootfs.afterSwitch);
  } else {
    steps.push({
      what: `chroot into "${rootfsPath}" (no mount namespace)`,
      origin: "root.path",
      op: { op: "chroot", path: rootfsPath },
    });
  }
  if (!pauseEarly) steps.push(...waitNetwork);
  if (pauseLate) {
    hooksStep = steps.length;
    steps.push({ what: "wait for husk to set up the container's network", op: { op: "waitContinue" } });
  }
  if (terminal) steps.push(planConsole(spec.process, spec.mounts));
  // In a new user namespace, groups can be set unless its setgroups was denied (by us); without
  // one, where the caller's own namespace allows it.
  const canSetgroups = userNs ? !denySetgroups : (ctx.host.setgroups ?? ctx.host.root);
  steps.push(...planCredentials(spec, ctx, canSetgroups, seccomp.load));
  if (ctx.mode === "create") {
    steps.push(planCheckExec(spec));
    steps.push({ what: "wait for start", op: { op: "waitStart" } });
  }
  steps.push(...planContainerHooks(spec, "startContainer", { id: ctx.id, bundle: ctx.bundle }));
  // A minimal init as PID 1 (forwards signals, reaps orphans), the program its child.
  if (ctx.init) steps.push({ what: "start the container's init", origin: "--init", op: { op: "init" } });
  steps.push(planExec(spec));
  return { steps, uidMappings, gidMappings, denySetgroups, hooksStep, warnings: seccomp.warnings, notices };
}

/** The monitor's attach socket, when it is to have one. */
function planAttach(monitor: MonitorParams): Step[] {
  if (!monitor.attach) return [];
  const { socket, stdin } = monitor.attach;
  return [{ what: `listen for attachers on ${socket}`, op: { op: "attach", socket, stdin: stdin ? 1 : 0 } }];
}
