/**
 * What containerd and podman pay per container: a create + start + delete --force cycle, and
 * the latency of `exec` into a running container, husk beside runc and crun, interleaved.
 * Also the resident memory of husk processes while a container runs (goal: none stays).
 *
 *   bun bench/lifecycle-latency.ts [runs=20]
 */
import { readdirSync, readFileSync } from "node:fs";
import { benchBundle, call, enterBenchNamespace, runtimes, table, time } from "./common.ts";

enterBenchNamespace();
const runs = Number(process.argv[2] ?? 20);
const bundle = benchBundle(["sleep", "1000"]);

/** Processes whose command line mentions husk, other than this benchmark, and their RSS. */
function huskProcesses(): { pid: number; rssKiB: number; cmd: string }[] {
  const out: { pid: number; rssKiB: number; cmd: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (!/husk/.test(cmd) || cmd.includes("lifecycle-latency")) continue;
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${name}/status`, "utf8"));
      out.push({ pid: Number(name), rssKiB: Number(rss?.[1] ?? 0), cmd });
    } catch {}
  }
  return out;
}

try {
  const cycle = new Map<string, number[]>(runtimes().map((r) => [r.name, []]));
  const exec = new Map<string, number[]>(runtimes().map((r) => [r.name, []]));
  for (let i = 0; i < runs + 2; i++) {
    for (const rt of runtimes()) {
      const id = `bench-${process.pid}-${i}`;
      const ms = time(() => {
        call(rt, ["create", "--bundle", bundle.dir, id]);
        call(rt, ["start", id]);
        call(rt, ["delete", "--force", id]);
      });
      if (i >= 2) cycle.get(rt.name)?.push(ms);
    }
  }
  let resident: ReturnType<typeof huskProcesses> = [];
  for (const rt of runtimes()) {
    const id = `bench-exec-${process.pid}`;
    call(rt, ["create", "--bundle", bundle.dir, id]);
    call(rt, ["start", id]);
    if (rt.name === "husk") resident = huskProcesses();
    try {
      for (let i = 0; i < runs + 2; i++) {
        const ms = time(() => call(rt, ["exec", id, "true"]));
        if (i >= 2) exec.get(rt.name)?.push(ms);
      }
    } finally {
      call(rt, ["delete", "--force", id]);
    }
  }
  console.log(table(`create + start + delete --force, median of ${runs} interleaved cycles`, cycle));
  console.log();
  console.log(table(`\`exec\` of /bin/true into a running container, median of ${runs}`, exec));
  console.log();
  console.log(
    resident.length === 0
      ? "husk processes resident while a container runs: none"
      : `husk processes resident while a container runs: ${resident.map((p) => `${p.pid} (${p.rssKiB} KiB) ${p.cmd}`).join("; ")}`,
  );
} finally {
  bundle.remove();
}
