/**
 * Where an engine container's time goes: HUSK_TRACE=1 makes husk print a timestamp per step
 * (src/trace.ts); this runs `Engine.run("busybox", ["true"], { network: "none" })` in one
 * process under Bun and under Node, and `husk run --rm --network none busybox true` as a
 * process per container, and prints the median time of each step (the time since the step
 * before it). The CLI's first line is from its process start (performance.now()'s origin):
 * Bun's own start, the CLI's entry and argument parsing.
 *
 *   bun bench/engine-phases.ts [runs=30]      (needs `npm run build`)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runs = Number(process.argv[2] ?? 30);
const START = "engine: spawn";

/** Per step, the ms since the step before it, from the trace lines of `runs` containers (the first `skip` not counted). */
function phases(stderr: string, fromProcessStart: boolean, skip: number): Map<string, number[]> {
  const steps = new Map<string, number[]>();
  let prev = 0;
  let n = 0;
  const runsStarted = (step: string) => (fromProcessStart ? step === "cli: main" : step === START);
  for (const line of stderr.split("\n")) {
    const m = /^husk-trace (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const at = Number(m[1]);
    const step = m[2] as string;
    if (runsStarted(step)) {
      n++;
      if (!fromProcessStart) {
        prev = at;
        continue;
      }
      prev = 0;
    }
    if (n > skip) {
      const key = fromProcessStart && step === "cli: main" ? "cli: process start to main (Bun, entry, arguments)" : step;
      steps.set(key, [...(steps.get(key) ?? []), at - prev]);
    }
    prev = at;
  }
  return steps;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function library(exe: string): { steps: Map<string, number[]>; total: number } {
  const r = spawnSync(exe, [join(import.meta.dir, "engine-phases.mjs"), String(runs)], {
    env: { ...process.env, HUSK_TRACE: "1" },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${exe}: ${r.stderr}`);
  const { ms } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ms: number[] };
  return { steps: phases(r.stderr, false, 2), total: median(ms) };
}

function cli(): { steps: Map<string, number[]>; total: number } {
  const husk = join(import.meta.dir, "../bin/husk");
  // Elsewhere with HUSK_BENCH_DATA_DIR and HUSK_BENCH_STATE_DIR (see library-run.ts).
  const dataRoot = mkdtempSync(join(process.env.HUSK_BENCH_DATA_DIR ?? tmpdir(), "husk-bench-phases-"));
  const stateRoot = mkdtempSync(join(process.env.HUSK_BENCH_STATE_DIR ?? "/run", "husk-bench-phases-"));
  const env = { ...process.env, HUSK_DATA_ROOT: dataRoot, HUSK_STATE_ROOT: stateRoot, HUSK_IP_FORWARD: "0", HUSK_TRACE: "1" };
  let stderr = "";
  const total: number[] = [];
  try {
    for (let i = 0; i < runs + 2; i++) {
      const t = performance.now();
      const r = spawnSync(husk, ["run", "--rm", "--network", "none", "busybox", "true"], { env, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`husk run: ${r.stderr}`);
      if (i >= 2) total.push(performance.now() - t);
      stderr += r.stderr;
    }
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
  }
  return { steps: phases(stderr, true, 2), total: median(total) };
}

const cols = [
  { name: "library, Bun", ...library(process.execPath) },
  { name: "library, Node", ...library("node") },
  { name: "CLI (husk run --rm)", ...cli() },
];
const names: string[] = [];
for (const c of [...cols].reverse()) for (const k of c.steps.keys()) if (!names.includes(k)) names.push(k);
// The CLI's own steps first, then the container's in the order they happen.
names.sort((a, b) => Number(!a.startsWith("cli:")) - Number(!b.startsWith("cli:")));
console.log(`Median ms per step, ${runs} containers each (HUSK_TRACE=1; a step's time is since the step before it):\n`);
console.log(`| step | ${cols.map((c) => c.name).join(" | ")} |`);
console.log(`| --- | ${cols.map(() => "---").join(" | ")} |`);
for (const k of names)
  console.log(`| ${k} | ${cols.map((c) => (c.steps.has(k) ? median(c.steps.get(k)!).toFixed(2) : "")).join(" | ")} |`);
console.log(
  `| sum of the medians | ${cols.map((c) => [...c.steps.values()].reduce((s, xs) => s + median(xs), 0).toFixed(1)).join(" | ")} |`,
);
console.log(`| median per container (measured around it) | ${cols.map((c) => c.total.toFixed(1)).join(" | ")} |`);
