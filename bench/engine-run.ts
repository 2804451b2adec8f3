/**
 * `husk run --rm busybox true` end to end (the CLI from start to exit: image lookup, overlay,
 * /etc files, container, cleanup), with --network none and with a bridge network (veth, lease,
 * hosts file), beside podman (Debian's 4.3) running the same busybox image when it is installed.
 * Median and minimum of N runs each, interleaved.
 *
 *   bun bench/engine-run.ts [runs]
 *
 * husk uses a data root, state root, bridge, subnet and nftables table of its own (removed at
 * the end) and leaves the host's ip_forward alone; podman gets the busybox image husk built,
 * saved and loaded into its own storage (see below).
 *
 * With HUSK_BENCH_BASELINE=<another checkout>/bin/husk-runtime, that checkout's bin/husk too
 * ("husk base"), on the same data root. HUSK_BENCH_PODMAN=0: husk's rows only (podman is not
 * run, its storage not made). HUSK_BENCH_NETWORK=default: the bridge rows use the default network
 * (husk0), the whole benchmark in a network namespace of its own.
 *
 * podman runs on a storage, run root and configuration of its own (removed at the end): the
 * netavark backend on a subnet no other test uses (10.251.78.0/24; podman's default 10.88.0.0/16
 * may be routed by another podman already), and the host's ip_forward, which podman's bridge
 * network turns on, is put back as it was.
 *
 * podman's crun (1.8) refuses this host's hybrid cgroup layout and podman as root asks for
 * rlimits this VM refuses: all of it runs in common.ts' bench namespace (an empty tmpfs over
 * /sys/fs/cgroup/unified, as the other benchmarks), and podman gets explicit nofile and nproc
 * limits.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { enterBenchNamespace, enterNetworkNamespace } from "./common.ts";

// HUSK_BENCH_NETWORK=default: the bridge rows on the default network (husk0), in a network
// namespace of the benchmark's own (common.ts) so the host's husk0, if any, is not touched.
const onDefault = process.env.HUSK_BENCH_NETWORK === "default";
if (onDefault) enterNetworkNamespace();
enterBenchNamespace();

const runs = Number(process.argv[2] ?? 20);
const husk = join(import.meta.dir, "../bin/husk");
const dataRoot = mkdtempSync(join(tmpdir(), "husk-bench-engine-"));
const stateRoot = mkdtempSync("/run/husk-bench-engine-");
const podmanRoot = join(dataRoot, "podman");
const env = {
  ...process.env,
  HUSK_DATA_ROOT: dataRoot,
  HUSK_STATE_ROOT: stateRoot,
  HUSK_NFT_TABLE: "husk_bench",
  HUSK_IP_FORWARD: "0",
  CONTAINERS_CONF: join(podmanRoot, "containers.conf"),
} as Record<string, string>;
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
const ipForwardBefore = readFileSync(IP_FORWARD, "utf8");

function sh(cmd: string, args: string[], extraEnv = env): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env: extraEnv, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/**
 * CPU time (user + system) of the waited-for children so far, in ms, from /proc/self/stat's
 * cutime and cstime: what a command and the processes it waited for used, whatever else the
 * machine was doing (podman's conmon is not waited for by podman: its share is not counted).
 */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // clock ticks of 10 ms (USER_HZ)
}

const cpu = new Map<string, number>();

function time(cmd: string, args: string[], name?: string): number {
  const c0 = childrenCpu();
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t;
  if (name) cpu.set(name, (cpu.get(name) ?? 0) + childrenCpu() - c0);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")}: exit ${r.status} (signal ${r.signal}, ${r.error?.message ?? "no error"}): ${r.stderr}`,
    );
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const podmanCmd = process.env.HUSK_BENCH_PODMAN === "0" ? "" : sh("sh", ["-c", "command -v podman"]).stdout.trim();
// podman with this benchmark's storage (the image is loaded there; nothing of the host's is used).
const podman = podmanCmd && join(dataRoot, "podman.sh");
if (podman) {
  writeFileSync(
    podman,
    `#!/bin/sh\nexec ${podmanCmd} --root ${podmanRoot}/root --runroot ${podmanRoot}/runroot --tmpdir ${podmanRoot}/tmp "$@"\n`,
    { mode: 0o755 },
  );
}
const PODMAN_LIMITS = ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=4096:4096"];
const cases: { name: string; cmd: string; args: string[] }[] = [];
try {
  if (!onDefault) must(husk, ["network", "create", "--subnet", "10.251.77.0/24", "--bridge", "huskbench0", "benchnet"]);
  const bridgeArgs = onDefault ? [] : ["--network", "benchnet"];
  must(husk, ["run", "--rm", "--network", "none", "busybox", "true"]); // builds the image once
  cases.push({ name: "husk --network none", cmd: husk, args: ["run", "--rm", "--network", "none", "busybox", "true"] });
  cases.push({ name: "husk bridge network", cmd: husk, args: ["run", "--rm", ...bridgeArgs, "busybox", "true"] });
  const base = process.env.HUSK_BENCH_BASELINE;
  if (base) {
    const baseHusk = join(dirname(base), "husk");
    cases.push({
      name: "husk base --network none",
      cmd: baseHusk,
      args: ["run", "--rm", "--network", "none", "busybox", "true"],
    });
    cases.push({
      name: "husk base bridge network",
      cmd: baseHusk,
      args: ["run", "--rm", ...bridgeArgs, "busybox", "true"],
    });
  }
  if (podman) {
    mkdirSync(join(podmanRoot, "networks"), { recursive: true });
    writeFileSync(
      env.CONTAINERS_CONF as string,
      `[network]\nnetwork_backend = "netavark"\ndefault_subnet = "10.251.78.0/24"\nnetwork_config_dir = "${join(podmanRoot, "networks")}"\n`,
    );
    const archive = join(dataRoot, "busybox.tar");
    must(husk, ["save", "-o", archive, "busybox"]);
    must(podman, ["load", "-i", archive]);
    must(podman, ["tag", "docker.io/library/busybox:latest", "localhost/husk-bench-busybox"]);
    cases.push({
      name: "podman --network none",
      cmd: podman,
      args: ["run", "--rm", ...PODMAN_LIMITS, "--network", "none", "localhost/husk-bench-busybox", "true"],
    });
    cases.push({
      name: "podman bridge network",
      cmd: podman,
      args: ["run", "--rm", ...PODMAN_LIMITS, "localhost/husk-bench-busybox", "true"],
    });
  }
  const times = new Map(cases.map((c) => [c.name, [] as number[]]));
  for (const c of cases) time(c.cmd, c.args); // warm-up
  for (let i = 0; i < runs; i++) for (const c of cases) times.get(c.name)!.push(time(c.cmd, c.args, c.name));
  console.log(`run --rm busybox true, ${runs} runs each${podman ? "" : " (podman not run)"}:\n`);
  // Each against podman with the same network (the goal: a tenth of podman's time).
  const podmanOf = (name: string) => times.get(name.includes("bridge") ? "podman bridge network" : "podman --network none");
  console.log("| command | median ms | min ms | vs podman | CPU ms per run |\n| --- | --- | --- | --- | --- |");
  for (const c of cases) {
    const t = times.get(c.name)!;
    const p = podmanOf(c.name);
    const vs = p ? `${(median(t) / median(p)).toFixed(2)}×` : "—";
    const cpuMs = (cpu.get(c.name) ?? 0) / runs;
    console.log(`| ${c.name} | ${median(t).toFixed(1)} | ${Math.min(...t).toFixed(1)} | ${vs} | ${cpuMs.toFixed(1)} |`);
  }
  // The network's share, pair by pair (run i with a bridge less run i without, taken one after
  // the other): steadier than the difference of the medians when the machine's load drifts.
  console.log("\nbridge network less --network none, the median of the runs' pairs:");
  for (const who of ["husk", "husk base", "podman"]) {
    const none = times.get(`${who} --network none`);
    const bridge = times.get(`${who} bridge network`);
    if (none && bridge) console.log(`  ${who}: ${median(bridge.map((b, i) => b - none[i]!)).toFixed(1)} ms`);
  }
} finally {
  sh(husk, ["network", "rm", onDefault ? "husk" : "benchnet"]);
  sh("nft", ["delete", "table", "inet", "husk_bench"]);
  if (podman) sh(podman, ["system", "reset", "-f"]);
  writeFileSync(IP_FORWARD, ipForwardBefore);
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
