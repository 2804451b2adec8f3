/**
 * The library per container: `Runtime.run` of /bin/true on a prebuilt bundle and `Engine.run`
 * of busybox `true` (overlay rootfs, records, /etc files), each in one long-lived process
 * under Bun and under Node (no CLI start-up per container), beside crun's and husk-runtime's
 * CLI `run` on the same bundle; and containers per second with 4 in flight against crun's
 * sequential rate.
 *
 *   bun bench/library-run.ts [runs=30] [rounds=6]      (needs `npm run build` for dist/lib)
 *
 * This machine's speed moves by ±15 % from one minute to the next, so the measures take turns:
 * each of `rounds` rounds runs runs/rounds containers of every kind (and 20 of each 4 at a
 * time), the library processes staying alive between rounds (bench/library-run.mjs). A ratio
 * to crun is then one of figures taken in the same minutes. Two containers of each kind run
 * unmeasured first; the 4-at-a-time rate is over all rounds, so a process that has made many
 * containers (as a service has) is what it measures.
 *
 * HUSK_BENCH_BATCH=N (default 20) is how many containers each round runs 4 at a time per kind:
 * a batch follows other kinds' work in the same round (their namespaces' cleanup still running,
 * no spare helper of its shape waiting), so a larger one (300) comes closer to a service's
 * sustained rate. HUSK_BENCH_WARMUP=N: N more unmeasured containers of each kind first (V8
 * compiles the engine's once-per-container code for ~2500 containers: 3000 measures a
 * service's steady state).
 *
 * With HUSK_BENCH_BASELINE=<another checkout>/bin/husk-runtime, that checkout's library too
 * (its dist/lib, driven by this checkout's library-run.mjs), as "base". HUSK_BENCH_STATE_DIR
 * (default /run) and HUSK_BENCH_DATA_DIR (default /tmp) say where the library's state roots and
 * the engine's data root go: on this VM's root filesystem (ext4 without a journal) an inode
 * costs more the more were freed in the minutes before, so a fresh filesystem gives steadier
 * figures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { benchBundle, call, enterBenchNamespace, median, runtimes, time } from "./common.ts";

enterBenchNamespace();
const runs = Number(process.argv[2] ?? 30);
const rounds = Number(process.argv[3] ?? 6);
const perRound = Math.ceil(runs / rounds);
const BATCH = Number(process.env.HUSK_BENCH_BATCH ?? 20);

interface Lib {
  name: string;
  proc: ChildProcess;
  next: () => Promise<string>;
  runtime: number[];
  engine: number[];
  runtime4: { containers: number; ms: number };
  engine4: { containers: number; ms: number };
}

/** A library process (bench/library-run.mjs) under `exe`, importing the dist/lib of `checkout`. */
function startLib(name: string, exe: string, checkout: string, bundle: string, n: number): Lib {
  const stateRoot = `${process.env.HUSK_BENCH_STATE_DIR ?? "/run"}/husk-bench-lib-${n}`;
  const proc = spawn(exe, [join(import.meta.dir, "library-run.mjs"), join(checkout, "dist/lib/index.js"), bundle, stateRoot], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${name}: the library process ended`);
    return value as string;
  };
  const zero = () => ({ containers: 0, ms: 0 });
  return { name, proc, next, runtime: [], engine: [], runtime4: zero(), engine4: zero() };
}

async function ask<T>(lib: Lib, what: string, n?: number): Promise<T> {
  lib.proc.stdin?.write(`${JSON.stringify({ what, n })}\n`);
  return JSON.parse(await lib.next()) as T;
}

/**
 * The memory controller's cgroups, live and dying (/proc/cgroups). A removed cgroup that still
 * has cached pages charged stays, dying, and every cgroup operation slows as they add up: the
 * count before and after says whether the figures were taken on a host in that state.
 */
function memoryCgroups(): string {
  const line = readFileSync("/proc/cgroups", "utf8")
    .split("\n")
    .find((l) => l.startsWith("memory\t"));
  return line?.split("\t")[2] ?? "?";
}

const bundle = benchBundle(["/bin/true"]);
const libs: Lib[] = [];
const cgroupsBefore = memoryCgroups();
try {
  const here = join(import.meta.dir, "..");
  const base = process.env.HUSK_BENCH_BASELINE ? join(dirname(process.env.HUSK_BENCH_BASELINE), "..") : undefined;
  const wanted: [string, string, string][] = [
    ["Bun", process.execPath, here],
    ["Node", "node", here],
    ...(base
      ? ([
          ["base, Bun", process.execPath, base],
          ["base, Node", "node", base],
        ] as [string, string, string][])
      : []),
  ];
  for (const [name, exe, checkout] of wanted) libs.push(startLib(name, exe, checkout, bundle.dir, libs.length));
  const cli = new Map<string, number[]>();
  for (const rt of runtimes()) cli.set(rt.name, []);
  let made = 0;
  for (let round = 0; round < rounds; round++) {
    for (const lib of libs) {
      lib.runtime.push(...(await ask<{ ms: number[] }>(lib, "runtime", perRound)).ms);
      lib.engine.push(...(await ask<{ ms: number[] }>(lib, "engine", perRound)).ms);
      for (const kind of ["runtime4", "engine4"] as const) {
        const b = await ask<{ containers: number; ms: number }>(lib, kind, BATCH);
        lib[kind].containers += b.containers;
        lib[kind].ms += b.ms;
      }
    }
    for (let i = 0; i < perRound + (round === 0 ? 2 : 0); i++) {
      for (const rt of runtimes()) {
        const ms = time(() => call(rt, ["run", "--bundle", bundle.dir, `bench-${process.pid}-${made++}`]));
        if (round > 0 || i >= 2) cli.get(rt.name)?.push(ms);
      }
    }
  }
  for (const lib of libs) await ask(lib, "end");
  const crun = median(cli.get("crun") ?? []);
  const crunRate = 1000 / crun;
  const rate = (b: { containers: number; ms: number }) => (b.containers * 1000) / b.ms;
  const vs = (x: number, of: number) => (Number.isNaN(of) ? "—" : `${(x / of).toFixed(2)}×`);
  const row = (name: string, ms: number, perSec?: number) =>
    `| ${name} | ${ms.toFixed(1)} | ${vs(ms, crun)} | ${perSec ? `${perSec.toFixed(0)} (${vs(perSec, crunRate)})` : "—"} |`;
  console.log(
    `\`run\` of /bin/true per container: median of ${runs} in ${rounds} rounds; 4 in flight: ${rounds * BATCH} containers in the same rounds\n`,
  );
  console.log("| how | median ms | vs crun CLI | containers/s 4 in flight (vs crun's sequential rate) |");
  console.log("| --- | --- | --- | --- |");
  for (const lib of libs) {
    const prefix = lib.name.startsWith("base") ? "base: library" : "library";
    const on = lib.name.replace(/^base, /, "");
    console.log(row(`${prefix}, ${on} (Runtime.run)`, median(lib.runtime), rate(lib.runtime4)));
    console.log(row(`${prefix}, ${on} (Engine.run, busybox image)`, median(lib.engine), rate(lib.engine4)));
  }
  for (const [name, xs] of cli)
    console.log(row(`${name === "husk" ? "husk-runtime" : name} CLI run`, median(xs), name === "crun" ? crunRate : undefined));
  console.log(`\nmemory cgroups on the host, live and dying: ${cgroupsBefore} before, ${memoryCgroups()} after`);
} finally {
  for (const lib of libs) if (lib.proc.exitCode === null) lib.proc.stdin?.end();
  await Promise.all(libs.map((l) => (l.proc.exitCode === null ? new Promise((r) => l.proc.once("exit", r)) : undefined)));
  bundle.remove();
}
