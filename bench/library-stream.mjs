/**
 * Streaming throughput of the library, under Bun or Node (`bun bench/library-stream.mjs`,
 * `node bench/library-stream.mjs`; build first with `npm run -s build`). 100 MiB of zeros from
 * `dd bs=64k` inside a busybox container, read through Engine.spawn's stdout, against the same
 * `busybox dd` on the host read through a plain node:child_process pipe in this process.
 * Prints one JSON line per case: MB/s over the streaming alone (from the first chunk to the
 * last) and the peak growth of this process' RSS while it ran.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Engine } from "../dist/lib/index.js";

const SIZE = 100 * 1024 * 1024;
const DD = ["dd", "if=/dev/zero", "bs=65536", `count=${SIZE / 65536}`];
const runtime = typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`;

async function measure(stdout) {
  const rss0 = process.memoryUsage().rss;
  let n = 0;
  let peak = 0;
  let t0 = 0;
  for await (const c of stdout) {
    if (n === 0) t0 = performance.now();
    n += c.length;
    peak = Math.max(peak, process.memoryUsage().rss - rss0);
  }
  const s = (performance.now() - t0) / 1000;
  if (n !== SIZE) throw new Error(`read ${n} bytes, not ${SIZE}`);
  return { mbPerS: Math.round(SIZE / 1e6 / s), peakRssGrowthMB: Math.round(peak / 1e5) / 10 };
}

const dataRoot = mkdtempSync("/tmp/husk-bench-stream-");
const stateRoot = mkdtempSync("/run/husk-bench-stream-");
const engine = new Engine({ dataRoot, stateRoot, ipForward: false });
try {
  await engine.run("busybox", ["true"], { network: "none" }); // builds the image, not timed
  for (let i = 0; i < 3; i++) {
    const host = spawn("busybox", DD, { stdio: ["ignore", "pipe", "ignore"] });
    console.log(JSON.stringify({ runtime, case: "host busybox dd | child_process pipe", ...(await measure(host.stdout)) }));
    const p = await engine.spawn("busybox", DD, { network: "none" });
    const r = await measure(p.stdout);
    if ((await p.exited).exitCode !== 0) throw new Error("dd failed in the container");
    console.log(JSON.stringify({ runtime, case: "Engine.spawn busybox dd, stdout", ...r }));
  }
} finally {
  for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  await engine.idle(); // its background deletions, before the whole data root goes
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
