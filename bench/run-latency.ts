/**
 * Startup latency: `run` of /bin/true on one busybox bundle, husk side by side with runc and
 * crun when installed, interleaved so that machine noise hits all alike. Prints a markdown
 * table of medians and ratios to husk.
 *
 *   bun bench/run-latency.ts [runs=30]
 *
 * crun 1.8 refuses this host's hybrid cgroup layout unless /sys/fs/cgroup/unified is hidden, so
 * the whole benchmark re-runs itself in a private mount namespace with an empty tmpfs there:
 * every runtime is measured under the same conditions.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/spec/default-spec.ts";
import { makeRootfs } from "../test/fixtures/rootfs.ts";

const runs = Number(process.argv[2] ?? 30);

if (!process.env.HUSK_BENCH_INNER) {
  const script = `mount -t tmpfs none /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"`;
  const r = spawnSync(
    "unshare",
    ["-m", "--propagation", "private", "sh", "-c", script, process.execPath, ...process.argv.slice(1)],
    {
      stdio: "inherit",
      env: { ...process.env, HUSK_BENCH_INNER: "1" },
    },
  );
  process.exit(r.status ?? 1);
}

const husk = join(import.meta.dir, "../bin/husk");
const which = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
const runtimes: { name: string; argv: (bundle: string, id: string) => string[] }[] = [
  { name: "husk", argv: (b, id) => [husk, "--root", "/run/husk-bench", "run", "--bundle", b, id] },
];
for (const name of ["runc", "crun"]) {
  const path = which(name);
  if (path) runtimes.push({ name, argv: (b, id) => [path, "--root", `/run/${name}-bench`, "run", "--bundle", b, id] });
}

const dir = mkdtempSync(join(tmpdir(), "husk-bench-"));
try {
  makeRootfs(join(dir, "rootfs"));
  const spec = defaultSpec({ args: ["/bin/true"] });
  if (spec.process) spec.process.terminal = false;
  spec.ociVersion = "1.0.2-dev"; // crun 1.8 refuses versions it does not know
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));

  const samples = new Map<string, number[]>(runtimes.map((r) => [r.name, []]));
  for (let i = 0; i < runs + 2; i++) {
    for (const rt of runtimes) {
      const id = `bench-${process.pid}-${i}`;
      const [cmd, ...args] = rt.argv(dir, id);
      const t0 = performance.now();
      const r = spawnSync(cmd as string, args, { stdio: ["ignore", "ignore", "pipe"] });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${rt.name} run failed: ${r.stderr}`);
      if (i >= 2) samples.get(rt.name)?.push(ms); // the first two warm caches
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const huskMedian = median(samples.get("husk") ?? []);
  console.log(`run /bin/true, median of ${runs} interleaved runs (ms)\n`);
  console.log("| runtime | median ms | min ms | vs husk |");
  console.log("| --- | --- | --- | --- |");
  for (const rt of runtimes) {
    const xs = samples.get(rt.name) ?? [];
    const m = median(xs);
    console.log(`| ${rt.name} | ${m.toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${(m / huskMedian).toFixed(2)}× |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (existsSync("/run/husk-bench")) rmSync("/run/husk-bench", { recursive: true, force: true });
}
