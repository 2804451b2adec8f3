/**
 * Container↔host TCP throughput over husk's network path (the container's netns → veth → bridge →
 * the gateway address) beside the host's own loopback, with iperf3 (Debian's). The networking
 * issue's goal is ≥ 0.9× loopback. The gateway is on the container's link, so the stream moves
 * in packets of the links' MTU (65535, links.ts), not the network's (its default route's).
 *
 * It runs in a network and mount namespace of its own (re-executing itself under `unshare`),
 * which plays the host: the iperf3 server listens on the bench network's gateway there, the
 * client runs in a namespace husk attached to it. No traffic leaves namespaces the bench made.
 *
 *   bun bench/network-throughput.ts [seconds=5] [rounds=3]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Networks, netnsAdd, netnsRemove } from "../src/network/index.ts";
import { enterNetworkNamespace, median } from "./common.ts";

enterNetworkNamespace();

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const dataRoot = mkdtempSync(join(tmpdir(), "husk-bench-tput-"));
const nets = new Networks({ dataRoot });

/** One iperf3 run: a server on `host` for one client, the client started by `client`; Gbit/s received. */
async function iperf(host: string, client: string[]): Promise<number> {
  const server = Bun.spawn(["iperf3", "-s", "-1", "-B", host, "-p", "5301"], { stdout: "ignore", stderr: "ignore" });
  try {
    await Bun.sleep(200);
    const r = spawnSync(client[0]!, [...client.slice(1), "iperf3", "-c", host, "-p", "5301", "-t", String(seconds), "-J"], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`iperf3 client: ${r.stderr || r.stdout}`);
    const out = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return out.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
    await server.exited;
  }
}

try {
  await nets.ensureNetwork({ name: "tput", subnet: "10.214.0.0/16" });
  const ns = await netnsAdd("tput-c");
  const lease = await nets.attach({ network: "tput", containerId: "c0", netnsPath: ns });
  const gateway = lease.gateway;
  const veth: number[] = [];
  const loop: number[] = [];
  // Interleaved, so that whatever else the machine does weighs on both alike.
  for (let i = 0; i < rounds; i++) {
    loop.push(await iperf("127.0.0.1", ["env"]));
    veth.push(await iperf(gateway, ["ip", "netns", "exec", "tput-c"]));
  }
  const v = median(veth);
  const l = median(loop);
  console.log(
    `iperf3 TCP, ${seconds} s × ${rounds}, medians (links at MTU ${lease.linkMtu}, the default route at ${lease.mtu}):`,
  );
  console.log(`  container → host over husk's veth and bridge: ${v.toFixed(1)} Gbit/s`);
  console.log(`  host loopback:                                 ${l.toFixed(1)} Gbit/s`);
  console.log(`  ratio: ${(v / l).toFixed(2)}× (goal ≥ 0.9×)`);
  await nets.detach({ network: "tput", containerId: "c0" });
  await netnsRemove("tput-c");
} finally {
  rmSync(dataRoot, { recursive: true, force: true });
}
