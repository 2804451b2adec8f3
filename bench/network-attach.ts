/**
 * What a container's network costs: attach + detach (one helper run each, netlink spoken
 * directly), waiting for the kernel to free the veth and not (a container's own namespace, as
 * when it exits), with N named containers on the network whose hosts files are kept current,
 * beside the same setup done with `ip` processes; publishing a port (one nft run);
 * 50 attaches at once; and a published port reached from 127.0.0.1 through nftables DNAT
 * beside a userspace proxy (what docker-proxy does), per connection and in bulk.
 *
 * It runs in a network and mount namespace of its own (re-executing itself under `unshare`),
 * which plays the host: nothing is made in the machine's own namespace.
 *
 *   bun bench/network-attach.ts [runs=50]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Networks, netnsAdd, netnsRemove } from "../src/network/index.ts";
import { enterNetworkNamespace, median } from "./common.ts";

enterNetworkNamespace();

const runs = Number(process.argv[2] ?? 50);
const dataRoot = mkdtempSync(join(tmpdir(), "husk-bench-net-"));
const nets = new Networks({ dataRoot });
const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const ms = (xs: number[]) => `${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)})`;
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};

const servers: ReturnType<typeof Bun.spawn>[] = [];
try {
  const def = await nets.ensureNetwork({ name: "bench", subnet: "10.213.0.0/16" });
  const ns = await netnsAdd("bench-c");

  // attach + detach, husk
  const attach: number[] = [];
  const detach: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = performance.now();
    await nets.attach({ network: "bench", containerId: `c${i}`, netnsPath: ns });
    const t1 = performance.now();
    await nets.detach({ network: "bench", containerId: `c${i}` });
    const t2 = performance.now();
    if (i >= 3) {
      attach.push(t1 - t0);
      detach.push(t2 - t1);
    }
  }
  const both = attach.map((a, i) => a + detach[i]!);
  say(`husk attach + detach, waiting for the veth to be freed: ${ms(both)} — attach ${ms(attach)}, detach ${ms(detach)}`);

  // As containers come and go: each in a namespace of its own (made beforehand, as the runtime
  // does), detach not waiting for the kernel to free the veth, 30 ms apart (back to back, an
  // attach waits for the rtnl lock the previous veth's deletion holds). With N named containers
  // on the network, each attach and detach rewrites their hosts files (names.ts); N = 0 is what
  // a resolver holding the names would cost per attach (nothing per other container).
  const pool = await Promise.all(Array.from({ length: runs + 3 }, (_, i) => netnsAdd(`bench-q${i}`)));
  const hostsDir = join(dataRoot, "hosts");
  const hostsFile = (id: string) => {
    mkdirSync(join(hostsDir, id), { recursive: true });
    const f = join(hostsDir, id, "hosts");
    writeFileSync(f, "127.0.0.1\tlocalhost\n");
    writeFileSync(`${f}.base`, "127.0.0.1\tlocalhost\n");
    return f;
  };
  for (const n of [0, 10, 50]) {
    for (let k = 0; k < n; k++)
      await nets.reserve({ network: "bench", containerId: `named${k}`, names: [`named${k}`], hostsFile: hostsFile(`named${k}`) });
    const a: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const id = `q${n}-${i}`;
      const dns = n > 0 ? { names: [id], hostsFile: hostsFile(id) } : {};
      await Bun.sleep(30);
      const t0 = performance.now();
      await nets.attach({ network: "bench", containerId: id, netnsPath: pool[i]!, ...dns });
      const t1 = performance.now();
      await Bun.sleep(30);
      const t2 = performance.now();
      await nets.detach({ network: "bench", containerId: id, wait: false });
      const t3 = performance.now();
      if (i >= 3) {
        a.push(t1 - t0);
        d.push(t3 - t2);
      }
    }
    const sum = a.map((x, i) => x + d[i]!);
    const named = n === 0 ? "no names" : `${n} named containers on the network`;
    say(`husk attach + detach (wait: false), ${named}: ${ms(sum)} — attach ${ms(a)}, detach ${ms(d)}`);
    for (let k = 0; k < n; k++) await nets.detach({ network: "bench", containerId: `named${k}` });
  }
  for (let i = 0; i < runs + 3; i++) await netnsRemove(`bench-q${i}`);

  // The same interface made with ip, one process per step (what a shell tutorial does).
  const ipSetup: number[] = [];
  const ipDel: number[] = [];
  for (let i = 0; i < Math.min(runs, 20) + 3; i++) {
    const t0 = performance.now();
    sh([
      "ip",
      "link",
      "add",
      "hbench",
      "mtu",
      String(def.mtu),
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      ns,
      "mtu",
      String(def.mtu),
    ]);
    sh(["ip", "link", "set", "hbench", "master", def.bridge, "up"]);
    sh(["ip", "-n", "bench-c", "link", "set", "lo", "up"]);
    sh(["ip", "-n", "bench-c", "link", "set", "eth0", "address", "02:00:00:00:00:09", "up"]);
    sh(["ip", "-n", "bench-c", "addr", "add", "10.213.0.9/16", "dev", "eth0"]);
    sh(["ip", "-n", "bench-c", "route", "add", "default", "via", def.gateway]);
    const t1 = performance.now();
    sh(["ip", "link", "del", "hbench"]);
    if (i >= 3) {
      ipSetup.push(t1 - t0);
      ipDel.push(performance.now() - t1);
    }
  }
  say(`the same with ip: 6 processes to set up ${ms(ipSetup)}, ip link del ${ms(ipDel)}`);

  // 50 at once
  const spaces = await Promise.all(Array.from({ length: 50 }, (_, i) => netnsAdd(`bench-p${i}`)));
  const tp = performance.now();
  await Promise.all(spaces.map((p, i) => nets.attach({ network: "bench", containerId: `p${i}`, netnsPath: p })));
  const tAll = performance.now() - tp;
  const td = performance.now();
  await Promise.all(spaces.map((_, i) => nets.detach({ network: "bench", containerId: `p${i}` })));
  say(`50 attaches at once: ${tAll.toFixed(0)} ms wall; 50 detaches: ${(performance.now() - td).toFixed(0)} ms`);
  for (let i = 0; i < 50; i++) await netnsRemove(`bench-p${i}`);

  // publish: one nft run
  const e = await nets.attach({ network: "bench", containerId: "web", netnsPath: ns });
  const pub: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await nets.publish({ network: "bench", containerAddress: e.address, ports: [{ containerPort: 80, hostPort: 20000 + i }] });
    pub.push(performance.now() - t0);
  }
  const nftAlone: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    sh(["nft", "list", "table", "inet", "husk"]);
    nftAlone.push(performance.now() - t0);
  }
  say(`publish one port: ${ms(pub)} (of which starting nft: ~${ms(nftAlone)})`);

  // DNAT vs a userspace proxy, from 127.0.0.1. The container serves 1 byte or 256 MiB per connection.
  const BULK = 256 << 20;
  const serve = (port: number, bytes: number) =>
    `require("node:net").createServer((s) => { const b = Buffer.alloc(${Math.min(bytes, 1 << 20)}, 120); let left = ${bytes}; const more = () => { while (left > 0) { const n = Math.min(left, b.length); left -= n; if (!s.write(n === b.length ? b : b.subarray(0, n))) return s.once("drain", more); } s.end(); }; more(); }).listen(${port}, "0.0.0.0")`;
  servers.push(
    Bun.spawn(["nsenter", `--net=${ns}`, process.execPath, "-e", serve(80, 1)], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  servers.push(
    Bun.spawn(["nsenter", `--net=${ns}`, process.execPath, "-e", serve(81, BULK)], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  await nets.publish({ network: "bench", containerAddress: e.address, ports: [{ containerPort: 81, hostPort: 21081 }] });
  const proxy = (listen: number, target: number) =>
    `const net = require("node:net"); net.createServer((c) => { const u = net.connect(${target}, "${e.address}"); c.pipe(u); u.pipe(c); c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); }).listen(${listen}, "127.0.0.1")`;
  servers.push(Bun.spawn([process.execPath, "-e", proxy(22080, 80)], { stdio: ["ignore", "ignore", "inherit"] }));
  servers.push(Bun.spawn([process.execPath, "-e", proxy(22081, 81)], { stdio: ["ignore", "ignore", "inherit"] }));

  const fetch = (host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      let n = 0;
      const s = connect({ host, port });
      s.on("data", (d) => (n += d.length));
      s.on("error", reject);
      s.on("close", () => resolve(n));
    });
  const until = async (host: string, port: number) => {
    for (let i = 0; i < 100; i++) if ((await fetch(host, port).catch(() => 0)) > 0) return;
    throw new Error(`nothing answers on ${host}:${port}`);
  };
  await until(e.address, 80);
  await until("127.0.0.1", 20000);
  await until("127.0.0.1", 22080);
  const paths = [
    { name: "direct to the container", host: e.address, small: 80, bulk: 81 },
    { name: "127.0.0.1, nftables DNAT", host: "127.0.0.1", small: 20000, bulk: 21081 },
    { name: "127.0.0.1, userspace proxy", host: "127.0.0.1", small: 22080, bulk: 22081 },
  ];
  // Interleaved rounds, so no path gets a warmer machine than another.
  const conn = paths.map(() => [] as number[]);
  const bulk = paths.map(() => [] as number[]);
  for (let round = 0; round < 3; round++) {
    for (const [k, p] of paths.entries()) {
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        await fetch(p.host, p.small);
        conn[k]!.push(performance.now() - t0);
      }
      const t0 = performance.now();
      const n = await fetch(p.host, p.bulk);
      if (n !== BULK) throw new Error(`${p.name}: got ${n} bytes`);
      bulk[k]!.push(performance.now() - t0);
    }
  }
  say("\n| path from the host | per connection (connect, 1 byte, close) | 256 MiB stream |\n| --- | --- | --- |");
  for (const [k, p] of paths.entries()) {
    const mibs = BULK / (1 << 20) / (median(bulk[k]!) / 1000);
    say(`| ${p.name} | ${median(conn[k]!).toFixed(3)} ms | ${mibs.toFixed(0)} MiB/s |`);
  }
} finally {
  for (const s of servers) s.kill("SIGKILL");
  await nets.reset().catch(() => {});
  rmSync(dataRoot, { recursive: true, force: true });
}
