/**
 * The library per container: `Runtime.run` of /bin/true in one long-lived process (no CLI
 * start-up per container), under Bun and under Node, beside crun's and husk-runtime's CLI `run`
 * on the same bundle; containers per second with 4 in flight against crun's sequential rate; and
 * the engine's `Engine.run` of busybox `true` (overlay rootfs, records, /etc files) in-process.
 *
 *   bun bench/library-run.ts [runs=30]      (needs `npm run build` for dist/lib)
 *
 * With HUSK_BENCH_BASELINE=<another checkout>/bin/husk-runtime, that checkout's library too
 * (its own bench/library-run.mjs over its dist/lib), as "base". HUSK_BENCH_STATE_DIR (default
 * /run) and HUSK_BENCH_DATA_DIR (default /tmp) say where the library's state roots and the
 * engine's data root go: on this VM's root filesystem (ext4 without a journal) an inode costs
 * more the more were freed in the minutes before, so a fresh filesystem gives steadier figures.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { benchBundle, call, enterBenchNamespace, median, runtimes, time } from "./common.ts";

enterBenchNamespace();
const runs = Number(process.argv[2] ?? 30);
const bundle = benchBundle(["/bin/true"]);
try {
  const lib = (exe: string, benchDir = import.meta.dir) => {
    const stateRoot = `${process.env.HUSK_BENCH_STATE_DIR ?? "/run"}/husk-bench-lib`;
    const r = spawnSync(exe, [join(benchDir, "library-run.mjs"), bundle.dir, String(runs), stateRoot], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (r.status !== 0) throw new Error(`${exe}: library run failed`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as {
      sequential: number[];
      batch4: { containers: number; ms: number };
      engine: number[];
      engineBatch4?: { containers: number; ms: number };
    };
  };
  const onBun = lib(process.execPath);
  const onNode = lib("node");
  const baseDir = process.env.HUSK_BENCH_BASELINE ? join(dirname(process.env.HUSK_BENCH_BASELINE), "../bench") : undefined;
  const baseBun = baseDir ? lib(process.execPath, baseDir) : undefined;
  const baseNode = baseDir ? lib("node", baseDir) : undefined;
  const cli = new Map<string, number[]>();
  for (const rt of runtimes()) cli.set(rt.name, []);
  for (let i = 0; i < runs + 2; i++) {
    for (const rt of runtimes()) {
      const ms = time(() => call(rt, ["run", "--bundle", bundle.dir, `bench-${process.pid}-${i}`]));
      if (i >= 2) cli.get(rt.name)?.push(ms);
    }
  }
  const crun = median(cli.get("crun") ?? []);
  const row = (name: string, ms: number, perSec?: number) =>
    `| ${name} | ${ms.toFixed(1)} | ${Number.isNaN(crun) ? "—" : `${(ms / crun).toFixed(2)}×`} | ${perSec ? perSec.toFixed(0) : "—"} |`;
  const rate = (b: { containers: number; ms: number }) => (b.containers * 1000) / b.ms;
  console.log(`\`run\` of /bin/true per container, median of ${runs}\n`);
  console.log("| how | median ms | vs crun CLI | containers/s, 4 in flight |");
  console.log("| --- | --- | --- | --- |");
  console.log(row("library, Bun (Runtime.run)", median(onBun.sequential), rate(onBun.batch4)));
  console.log(row("library, Node (Runtime.run)", median(onNode.sequential), rate(onNode.batch4)));
  const engine4 = (r: typeof onBun) => (r.engineBatch4 ? rate(r.engineBatch4) : undefined);
  console.log(row("library, Bun (Engine.run, busybox image)", median(onBun.engine), engine4(onBun)));
  console.log(row("library, Node (Engine.run, busybox image)", median(onNode.engine), engine4(onNode)));
  if (baseBun && baseNode) {
    console.log(row("base: library, Bun (Runtime.run)", median(baseBun.sequential), rate(baseBun.batch4)));
    console.log(row("base: library, Node (Runtime.run)", median(baseNode.sequential), rate(baseNode.batch4)));
    console.log(row("base: library, Bun (Engine.run, busybox image)", median(baseBun.engine), engine4(baseBun)));
    console.log(row("base: library, Node (Engine.run, busybox image)", median(baseNode.engine), engine4(baseNode)));
  }
  for (const [name, xs] of cli)
    console.log(row(`${name === "husk" ? "husk-runtime" : name} CLI run`, median(xs), name === "crun" ? 1000 / crun : undefined));
} finally {
  bundle.remove();
}
