/**
 * OCI hooks run by husk in the runtime's namespaces: prestart and createRuntime while the
 * container waits after its rootfs is set up; poststart after start; poststop after delete.
 * Each gets the state JSON on stdin, and the bundle as its working directory; a timeout kills it. createContainer and startContainer
 * run inside the container, by the helper (src/plan/hooks.ts).
 */

import { existsSync } from "node:fs";
import { HuskError } from "../errors.ts";
import type { Hook, Spec } from "../oci/types.ts";
import { containerState } from "../plan/state-json.ts";
import { stderr } from "../sys/stdio.ts";

async function runHook(hook: Hook, kind: string, index: number, stateJson: string, cwd: string | undefined): Promise<void> {
  // Loaded on first use: most containers have no hooks, and every CLI call would pay for it.
  const { spawn } = await import("node:child_process");
  const what = `error running hook "${hook.path}"`;
  const origin = `hooks.${kind}[${index}]`;
  return new Promise((resolve, reject) => {
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args, {
      argv0,
      cwd,
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      stdio: ["pipe", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const timer = hook.timeout ? setTimeout(() => child.kill("SIGKILL"), hook.timeout * 1000) : undefined;
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new HuskError(err.message, { what, origin }));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why =
        signal === "SIGKILL" && hook.timeout
          ? `timed out after ${hook.timeout}s`
          : signal
            ? `killed by ${signal}`
            : `exit status ${code}`;
      reject(new HuskError(`${why}${stderr.trim() ? `: ${stderr.trim()}` : ""}`, { what, origin }));
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(stateJson);
  });
}

export async function runHooks(
  hooks: Hook[] | undefined,
  kind: string,
  state: Record<string, unknown>,
  opts: { warnOnly?: boolean } = {},
): Promise<void> {
  if (!hooks?.length) return;
  const json = JSON.stringify(state);
  // runc runs them from the bundle directory (it changes there to read config.json); a bundle
  // removed before poststop leaves them where husk is.
  const cwd = typeof state.bundle === "string" && existsSync(state.bundle) ? state.bundle : undefined;
  for (const [i, hook] of hooks.entries()) {
    try {
      await runHook(hook, kind, i, json, cwd);
    } catch (err) {
      if (!opts.warnOnly) throw err;
      stderr(`husk: warning: ${(err as Error).message}\n`);
    }
  }
}

/** prestart (deprecated but still used by docker) and createRuntime, in that order. */
export async function runCreateHooks(spec: Spec, info: { id: string; pid: number; bundle: string }): Promise<void> {
  const state = containerState(spec, info);
  await runHooks(spec.hooks?.prestart, "prestart", state);
  await runHooks(spec.hooks?.createRuntime, "createRuntime", state);
}
