/**
 * The library's side of bench/engine-phases.ts, run by Bun or by Node with HUSK_TRACE=1:
 * `Engine.run("busybox", ["true"], { network: "none" })` runs+2 times in this process (the
 * trace lines go to stderr), then one JSON line on stdout: { ms: [per run…] }.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Engine } from "../dist/lib/index.js";

const runs = Number(process.argv[2] ?? 30);
const dataRoot = mkdtempSync(`${process.env.HUSK_BENCH_DATA_DIR ?? "/tmp"}/husk-bench-phases-`);
const stateRoot = `${process.env.HUSK_BENCH_STATE_DIR ?? "/run"}/husk-bench-phases-${process.pid}`;
const engine = new Engine({ dataRoot, stateRoot, ipForward: false });
const ms = [];
try {
  for (let i = 0; i < runs + 2; i++) {
    const t = performance.now();
    const r = await engine.run("busybox", ["true"], { network: "none" });
    if (r.exitCode !== 0) throw new Error(`engine run exited ${r.exitCode}`);
    if (i >= 2) ms.push(performance.now() - t);
  }
} finally {
  await engine.idle(); // its background deletions, before the whole data root goes
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
console.log(JSON.stringify({ ms }));
