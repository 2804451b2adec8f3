/**
 * `exec`: run a new process in a running container — its namespaces, cgroup, credentials and
 * (through the container's spec) its seccomp filter. In the foreground the helper's parent
 * waits and exits with the process' status; with detach it leaves at once. Forwarding
 * signals is the caller's (onStart gives the pid).
 */

import { joinFilesOf } from "../cgroups/join.ts";
import { ConflictError } from "../errors.ts";
import { launch } from "../helper/driver.ts";
import type { HelperSpares } from "../helper/spares.ts";
import type { Process } from "../oci/types.ts";
import { compileExecPlan } from "../plan/exec.ts";
import { hostFacts, setgroupsAllowed } from "./host-facts.ts";
import type { ExecOptions } from "./runtime.ts";
import { seccompCompiler } from "./seccomp-cache.ts";
import { readState, writePidFile } from "./state.ts";
import { containerStatus } from "./status.ts";

/** Runtime.exec's options, with the container and the whole process it runs. */
export interface ExecInContainer extends ExecOptions {
  root: string;
  id: string;
  process: Process;
  onDebug?: (message: string) => void;
  /** The Runtime's spare helpers (see helper/spares.ts). */
  spares?: HelperSpares;
}

export async function execInContainer(opts: ExecInContainer): Promise<number> {
  const st = readState(opts.root, opts.id);
  const status = containerStatus(opts.root, st);
  if (status === "stopped") throw new ConflictError("cannot exec in a stopped container");
  if (status === "paused" && !opts.ignorePaused) throw new ConflictError("cannot exec in a paused container");
  // The cgroup module (and the host's layout) only for sub-cgroups: the container's own needs its paths alone.
  const cgroupJoin = opts.subCgroups?.length
    ? (await import("./sub-cgroups.ts")).subCgroupJoin(
        (await import("./cgroup-setup.ts")).reopenCgroup(st.cgroupPaths),
        opts.subCgroups,
      )
    : joinFilesOf(st.cgroupPaths);
  const steps = compileExecPlan(st.spec, opts.process, {
    initPid: st.pid,
    id: st.id,
    bundle: st.bundle,
    detach: opts.detach ?? false,
    preserveFds: opts.preserveFds ?? 0,
    consoleSocket: opts.consoleSocket,
    cgroupJoin,
    compileSeccomp: await seccompCompiler(opts.root, st.spec.linux?.seccomp),
    host: hostFacts,
    // runc's test, made where the process will be: root there, and setgroups not denied
    setgroups: process.geteuid?.() === 0 && setgroupsAllowed(st.pid),
    ownerLifeline: opts.killWithOwner,
  });
  opts.onDebug?.(`nsexec container setup: the helper joins ${opts.id}'s namespaces (${steps.length} steps)`);
  const launched = await launch(steps, {
    preserveFds: opts.preserveFds ?? 0,
    stdio: opts.stdio,
    onStdio: opts.onStdio,
    spares: opts.spares,
  });
  opts.onDebug?.(`child process in init(): pid ${launched.pid}`);
  opts.onDebug?.(`setns_init: about to exec ${JSON.stringify(opts.process.args?.[0] ?? "")}`);
  if (opts.pidFile) {
    try {
      writePidFile(opts.pidFile, launched.pid);
    } catch (err) {
      // Nobody could wait for or signal a process whose pid was not recorded as asked.
      try {
        process.kill(launched.pid, "SIGKILL");
      } catch {}
      await launched.exited.catch(() => {});
      throw err;
    }
  }
  opts.onStart?.(launched.pid);
  // Detached, the helper leaves once the process has exec'd: it is then the caller's to reap.
  const exit = await launched.exited;
  return opts.detach ? 0 : exit;
}
