/**
 * Startup latency: `run` of /bin/true on one busybox bundle, husk beside runc and crun,
 * interleaved so that machine noise hits all alike.
 *
 *   bun bench/run-latency.ts [runs=30]
 */
import { benchBundle, call, enterBenchNamespace, runtimes, table, time } from "./common.ts";

enterBenchNamespace();
const runs = Number(process.argv[2] ?? 30);
const bundle = benchBundle(["/bin/true"]);
try {
  const samples = new Map<string, number[]>(runtimes().map((r) => [r.name, []]));
  for (let i = 0; i < runs + 2; i++) {
    for (const rt of runtimes()) {
      const ms = time(() => call(rt, ["run", "--bundle", bundle.dir, `bench-${process.pid}-${i}`]));
      if (i >= 2) samples.get(rt.name)?.push(ms); // the first two warm caches
    }
  }
  console.log(table(`\`run\` of /bin/true, median of ${runs} interleaved runs`, samples));
} finally {
  bundle.remove();
}
