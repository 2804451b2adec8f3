/**
 * The library's side of bench/library-run.ts, run by Bun or by Node: `Runtime.run` of /bin/true
 * on the bundle given, in this one long-lived process, sequentially and then 4 at a time.
 * Then `Engine.run("busybox", ["true"], { network: "none" })`, sequentially and 4 at a time.
 * Prints one JSON line: { sequential: [ms…], batch4: { containers, ms }, engine: [ms…], engineBatch4 }.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Engine, Runtime } from "../dist/lib/index.js";

const [bundle, runsText, root] = process.argv.slice(2);
const runs = Number(runsText);
const rt = new Runtime({ root });
const sequential = [];
for (let i = 0; i < runs + 2; i++) {
  const t0 = performance.now();
  const status = await rt.run(`lib-${process.pid}-${i}`, bundle);
  if (status !== 0) throw new Error(`run exited ${status}`);
  if (i >= 2) sequential.push(performance.now() - t0);
}
const containers = runs;
const t0 = performance.now();
// allSettled: a failure ends the benchmark only once the other three are done, so that nothing
// is left running (or its cgroup left behind) when the state roots are removed below.
const settled = async (runs) => {
  const rs = await Promise.allSettled(runs);
  const failed = rs.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return rs.map((r) => r.value);
};
for (let i = 0; i < containers; i += 4) {
  await settled([0, 1, 2, 3].map((k) => rt.run(`lib4-${process.pid}-${i + k}`, bundle)));
}
const batch4 = { containers, ms: performance.now() - t0 };
// The engine on its built-in busybox image (built on the first run, not timed), no network.
const dataRoot = mkdtempSync(`${process.env.HUSK_BENCH_DATA_DIR ?? "/tmp"}/husk-bench-engine-`);
const engine = new Engine({ dataRoot, stateRoot: `${root}-engine`, ipForward: false });
const engineRuns = [];
let engineBatch4;
try {
  for (let i = 0; i < runs + 2; i++) {
    const t = performance.now();
    const r = await engine.run("busybox", ["true"], { network: "none" });
    if (r.exitCode !== 0) throw new Error(`engine run exited ${r.exitCode}`);
    if (i >= 2) engineRuns.push(performance.now() - t);
  }
  const t4 = performance.now();
  for (let i = 0; i < runs; i += 4) {
    const rs = await settled([0, 1, 2, 3].map(() => engine.run("busybox", ["true"], { network: "none" })));
    if (rs.some((r) => r.exitCode !== 0)) throw new Error("engine run (4 in flight) failed");
  }
  engineBatch4 = { containers: runs, ms: performance.now() - t4 };
} finally {
  await engine.idle(); // its background deletions, before the whole data root goes
  await rt.idle?.(); // the runtime's spare helper (a baseline checkout's Runtime may have no idle)
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(`${root}-engine`, { recursive: true, force: true });
  // The runtime's root too (its containers are deleted; the seccomp cache stays there).
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify({ sequential, batch4, engine: engineRuns, engineBatch4 }));
