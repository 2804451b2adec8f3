/**
 * `husk top` (docker top): the container's processes as the host's ps(1) shows them, with host
 * pids, as docker does. ps runs on the host with the caller's options (default -ef) and the rows
 * whose PID is in the container's cgroup are kept; the cgroup is the one the runtime recorded
 * (state.json's cgroupPaths), so a process that left the container's pid namespace but stayed
 * in its cgroup is listed, and nothing outside it is.
 */
import { execFile } from "node:child_process";
import { ConflictError, HuskError } from "../errors.ts";
import { Runtime } from "../runtime/runtime.ts";
import type { Engine } from "./engine.ts";

export interface TopResult {
  /** ps's column titles ("UID", "PID", … "CMD"). */
  titles: string[];
  /** One row per process; the last column (the command) keeps its spaces. */
  processes: string[][];
}

/** ps options are passed to ps as separate words: `husk top c1 -o pid,comm` or `"aux"`. */
function psArgv(args: string[]): string[] {
  if (!Array.isArray(args) || args.some((a) => typeof a !== "string"))
    throw new HuskError("must be an array of strings", { origin: "psArgs" });
  return args.length === 0 ? ["-ef"] : args;
}

function runPs(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ps", argv, { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split("\n")[0];
        reject(new HuskError(`ps ${argv.join(" ")} failed: ${why}`, { origin: "psArgs" }));
      } else resolve(stdout);
    });
  });
}

/** Keep the rows of ps output whose PID column names one of pids (docker's parsing: by whitespace). */
export function filterPs(output: string, pids: Set<number>): TopResult {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw new HuskError("the ps output has no PID column: add pid to -o", { origin: "psArgs" });
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid) || !pids.has(pid)) continue;
    // The last title's column (the command) may hold spaces: join what is left.
    const last = titles.length - 1;
    processes.push([...fields.slice(0, last), fields.slice(last).join(" ")]);
  }
  return { titles, processes };
}

export async function top(engine: Engine, ref: string, psArgs: string[] = []): Promise<TopResult> {
  const argv = psArgv(psArgs);
  const rec = engine.record(ref);
  if (engine.live(rec).status !== "running") throw new ConflictError(`container ${rec.id.slice(0, 12)} is not running`);
  const runtime = new Runtime({ root: rec.stateRoot });
  // The pids before ps runs: a process that starts after is not listed, one that ended is
  // simply not in ps' output.
  const pids = new Set(await runtime.pids(rec.id));
  return filterPs(await runPs(argv), pids);
}
