/**
 * The library's side of bench/library-run.ts, run by Bun or by Node and kept alive between the
 * driver's rounds (so that its figures come from the same minutes as crun's):
 *
 *   <bun|node> bench/library-run.mjs <dist/lib/index.js> <bundle> <state root>
 *
 * It reads one JSON command a line on stdin and answers each with one JSON line:
 *   {"what":"runtime","n":N}   `Runtime.run` of the bundle N times in turn → {"ms":[…]}
 *   {"what":"runtime4","n":N}  the same, 4 in flight all along → {"containers":N,"ms":total}
 *   {"what":"engine","n":N}    `Engine.run("busybox", ["true"], { network: "none" })` → {"ms":[…]}
 *   {"what":"engine4","n":N}   the same, 4 in flight all along → {"containers":N,"ms":total}
 *   {"what":"end"}             everything removed (idle first) → {"ended":true}
 * The first command of each kind runs two unmeasured containers first (2 + HUSK_BENCH_WARMUP).
 * The library is imported
 * from the path given, so a baseline checkout's build is measured by this same driver.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";

const [libPath, bundle, root] = process.argv.slice(2);
const { Engine, Runtime } = await import(libPath);
const rt = new Runtime({ root });
// The engine on its built-in busybox image (built on the first run, not timed), no network.
const dataRoot = mkdtempSync(`${process.env.HUSK_BENCH_DATA_DIR ?? "/tmp"}/husk-bench-engine-`);
const engine = new Engine({ dataRoot, stateRoot: `${root}-engine`, ipForward: false });
let made = 0;
const runtimeRun = async () => {
  const status = await rt.run(`lib-${process.pid}-${made++}`, bundle);
  if (status !== 0) throw new Error(`run exited ${status}`);
};
const engineRun = async () => {
  const r = await engine.run("busybox", ["true"], { network: "none" });
  if (r.exitCode !== 0) throw new Error(`engine run exited ${r.exitCode}`);
};
// allSettled: a failure ends the benchmark only once the other three are done, so that nothing
// is left running (or its cgroup left behind) when the roots are removed.
const settled = async (runs) => {
  const rs = await Promise.allSettled(runs);
  const failed = rs.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
};
const warmed = new Set();
// HUSK_BENCH_WARMUP=N: N more unmeasured containers of each kind first (a service's steady state).
const warmup = 2 + Number(process.env.HUSK_BENCH_WARMUP ?? 0);
const sequential = async (one, n) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await one();
    ms.push(performance.now() - t);
  }
  return { ms };
};
// Four in flight all along: four lanes each start their next container as soon as theirs ends
// (a barrier after every four would leave lanes idle while the slowest of them finishes).
const fourAtATime = async (one, n) => {
  const t = performance.now();
  let started = 0;
  const lane = async () => {
    while (started < n) {
      started++;
      await one();
    }
  };
  await settled([lane(), lane(), lane(), lane()]);
  return { containers: n, ms: performance.now() - t };
};
const commands = {
  runtime: (n) => sequential(runtimeRun, n),
  runtime4: (n) => fourAtATime(runtimeRun, n),
  engine: (n) => sequential(engineRun, n),
  engine4: (n) => fourAtATime(engineRun, n),
};

async function end() {
  await engine.idle?.(); // its background deletions, before the whole data root goes
  await rt.idle?.(); // the runtime's spare helpers (a baseline's Runtime may have no idle)
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(`${root}-engine`, { recursive: true, force: true });
  // The runtime's root too (its containers are deleted; the seccomp cache stays there).
  rmSync(root, { recursive: true, force: true });
}

const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
try {
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line);
    if (cmd.what === "end") break;
    const run = commands[cmd.what];
    if (!run) throw new Error(`unknown command ${line}`);
    const kind = cmd.what.replace(/4$/, "");
    if (!warmed.has(kind)) {
      warmed.add(kind);
      for (let i = 0; i < warmup; i++) await (kind === "engine" ? engineRun() : runtimeRun());
    }
    say(await run(cmd.n));
  }
} finally {
  await end();
}
say({ ended: true });
