/**
 * Shared by the benchmarks: the runtimes to compare (husk, and runc/crun when installed), a
 * busybox bundle, interleaved timing, medians, and the private mount namespace crun needs.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/oci/default-spec.ts";
import { makeRootfs } from "../test/fixtures/rootfs.ts";

export interface Runtime {
  name: string;
  path: string;
  root: string;
}

/**
 * crun 1.8 refuses this host's hybrid cgroup layout unless /sys/fs/cgroup/unified is hidden:
 * re-run the whole benchmark in a private mount namespace with an empty tmpfs there, so every
 * runtime is measured under the same conditions. Returns only in the inner process.
 */
export function enterBenchNamespace(): void {
  if (process.env.HUSK_BENCH_INNER) return;
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

/**
 * Re-run the whole benchmark in a network and mount namespace of its own, which plays the host
 * (its own sysfs with the host's cgroup mounts, a tmpfs on /run/netns, lo up): nothing is made in the machine's namespace and
 * no traffic leaves it. Returns only in the inner process.
 */
export function enterNetworkNamespace(): void {
  if (process.env.HUSK_BENCH_NETNS) return;
  // The host's cgroup mounts are moved over the new sysfs (containers need them), through a
  // directory of /run that is gone again before the benchmark starts.
  const keep = "/run/husk-bench-cgroup";
  const inner =
    `mkdir -p ${keep} && mount --rbind /sys/fs/cgroup ${keep} && mount -t sysfs sysfs /sys && ` +
    `mount --move ${keep} /sys/fs/cgroup && rmdir ${keep} && ` +
    `mount -t tmpfs tmpfs /run/netns && ip link set lo up && exec "$0" "$@"`;
  const r = spawnSync(
    "unshare",
    ["--net", "--mount", "--propagation", "private", "sh", "-c", inner, process.execPath, ...process.argv.slice(1)],
    { stdio: "inherit", env: { ...process.env, HUSK_BENCH_NETNS: "1" } },
  );
  process.exit(r.status ?? 1);
}

/**
 * husk, runc and crun (those installed); with HUSK_BENCH_BASELINE=<a husk checkout's
 * bin/husk-runtime>, that build too, as "husk-base" (e.g. the commit before a change).
 */
export function runtimes(): Runtime[] {
  const which = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
  const list: Runtime[] = [{ name: "husk", path: join(import.meta.dir, "../bin/husk-runtime"), root: "/run/husk-bench" }];
  const base = process.env.HUSK_BENCH_BASELINE;
  if (base) list.push({ name: "husk-base", path: base, root: "/run/husk-base-bench" });
  for (const name of ["runc", "crun"]) {
    const path = which(name);
    if (path) list.push({ name, path, root: `/run/${name}-bench` });
  }
  return list;
}

/** A bundle with a busybox rootfs running `args`; removed by the returned function. */
export function benchBundle(args: string[]): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "husk-bench-"));
  makeRootfs(join(dir, "rootfs"));
  const spec = defaultSpec({ args });
  if (spec.process) spec.process.terminal = false;
  spec.ociVersion = "1.0.2-dev"; // crun 1.8 refuses versions it does not know
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  return {
    dir,
    remove: () => {
      // A run that failed half way may leave containers (a created one waits on its exec fifo
      // for ever): each runtime deletes its own before its root goes, or their processes and
      // cgroups would outlive the state that names them.
      for (const rt of runtimes()) {
        if (!existsSync(rt.root)) continue;
        for (const id of readdirSync(rt.root).filter((n) => !n.startsWith("@") && !n.startsWith(".")))
          spawnSync(rt.path, ["--root", rt.root, "delete", "--force", id], { stdio: "ignore" });
        rmSync(rt.root, { recursive: true, force: true });
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(errFile, { force: true });
    },
  };
}

const errFile = join(tmpdir(), `husk-bench-stderr-${process.pid}`);

/**
 * Run a runtime command, failing loudly. Its stderr goes to a file, not a pipe: a created
 * container inherits it, and a pipe would keep spawnSync waiting for the container's end.
 */
export function call(rt: Runtime, args: string[]): void {
  const fd = openSync(errFile, "w");
  try {
    const r = spawnSync(rt.path, ["--root", rt.root, ...args], { stdio: ["ignore", "ignore", fd] });
    if (r.status !== 0) throw new Error(`${rt.name} ${args.join(" ")} failed (${r.status}): ${readFileSync(errFile, "utf8")}`);
  } finally {
    closeSync(fd);
  }
}

export function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/** Markdown table of medians with ratios to husk. */
export function table(title: string, samples: Map<string, number[]>): string {
  const husk = median(samples.get("husk") ?? []);
  const rows = [...samples].map(
    ([name, xs]) => `| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${(median(xs) / husk).toFixed(2)}× |`,
  );
  return [`${title}\n`, "| runtime | median ms | min ms | vs husk |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
