/**
 * What each runtime verb costs a caller that starts the runtime per call (containerd's shim,
 * conmon): `--version`, `list`, and create, start, state, kill, delete --force of a `sleep`
 * container, husk beside runc and crun, interleaved; and Bun's own start (`bun -e 0`), the
 * floor under every husk call. Also the cycle containerd issues per container:
 * create + start + state + delete --force.
 *
 *   bun bench/verb-latency.ts [runs=30]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { benchBundle, call, enterBenchNamespace, median, runtimes, time } from "./common.ts";

enterBenchNamespace();
const runs = Number(process.argv[2] ?? 30);
const bundle = benchBundle(["sleep", "1000"]);
const bun = join(import.meta.dir, "../node_modules/bun/bin/bun.exe");
const verbs = ["--version", "list", "create", "start", "state", "kill", "delete", "cycle"] as const;
type Verb = (typeof verbs)[number];

try {
  const rts = runtimes();
  const samples = new Map<string, Map<Verb, number[]>>(rts.map((r) => [r.name, new Map(verbs.map((v) => [v, []]))]));
  const bunStart: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const warm = i >= 2;
    const t = time(() => spawnSync(bun, ["-e", "0"], { stdio: "ignore" }));
    if (warm) bunStart.push(t);
    for (const rt of rts) {
      const s = samples.get(rt.name) as Map<Verb, number[]>;
      const add = (v: Verb, ms: number) => warm && s.get(v)?.push(ms);
      const id = `bench-${process.pid}-${i}`;
      add(
        "--version",
        time(() => call(rt, ["--version"])),
      );
      add(
        "list",
        time(() => call(rt, ["list"])),
      );
      const create = time(() => call(rt, ["create", "--bundle", bundle.dir, id]));
      const start = time(() => call(rt, ["start", id]));
      const state = time(() => call(rt, ["state", id]));
      add(
        "kill",
        time(() => call(rt, ["kill", id, "KILL"])),
      );
      const del = time(() => call(rt, ["delete", "--force", id]));
      add("create", create);
      add("start", start);
      add("state", state);
      add("delete", del);
      add("cycle", create + start + state + del);
    }
  }
  const floor = median(bunStart);
  console.log(`median of ${runs} interleaved runs, ms; \`bun -e 0\`: ${floor.toFixed(1)} ms\n`);
  console.log(`| verb | ${rts.map((r) => r.name).join(" | ")} | husk − bun -e 0 |`);
  console.log(`| --- | ${rts.map(() => "---").join(" | ")} | --- |`);
  for (const v of verbs) {
    const husk = median(samples.get("husk")?.get(v) ?? []);
    const cells = rts.map((r) => median(samples.get(r.name)?.get(v) ?? []).toFixed(1));
    const over = v === "cycle" ? "" : `${(husk - floor).toFixed(1)}`;
    console.log(`| ${v === "cycle" ? "create+start+state+delete" : v} | ${cells.join(" | ")} | ${over} |`);
  }
} finally {
  bundle.remove();
}
