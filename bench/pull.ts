/**
 * Pulling a multi-layer image from a local registry (Debian's docker-registry on 127.0.0.1):
 * husk's pullImage into a fresh store (download, verify, unpack every layer, commit), at its
 * default concurrency and one layer at a time, beside `skopeo copy docker://… dir:…` (download
 * and verify only: it unpacks nothing). Runs interleaved; medians.
 *
 *   bun bench/pull.ts [runs=5] [layers=4] [MiB per layer=16]
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullImage } from "../src/image/pull.ts";
import { ImageStore } from "../src/image/store.ts";
import { buildImage, push, REGISTRY_BIN, runTool, startRegistry } from "../test/fixtures/registry.ts";
import { median } from "./common.ts";

const runs = Number(process.argv[2] ?? 5);
const layers = Number(process.argv[3] ?? 4);
const mib = Number(process.argv[4] ?? 16);

if (!existsSync(REGISTRY_BIN)) {
  console.error("bench/pull.ts needs docker-registry (apt-get install docker-registry), umoci and skopeo");
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), "husk-bench-pull-"));
const reg = await startRegistry(join(work, "registry"));
try {
  const extra = Array.from({ length: layers }, (_, i) => ({ name: `data${i}`, bytes: mib << 20 }));
  buildImage(work, join(work, "layout"), "bench", extra);
  const ref = `${reg.host}/bench/pull:1`;
  push(`oci:${join(work, "layout")}:bench`, `docker://${ref}`);
  const manifest = JSON.parse(runTool("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]));
  const sizes: number[] = manifest.layers.map((l: { size: number }) => l.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  console.log(
    `image: ${sizes.length} layers, ${(total / 1e6).toFixed(1)} MB compressed (busybox + ${layers} × ${mib} MiB random); ${runs} runs`,
  );

  const times: Record<string, number[]> = { "husk pull": [], "husk pull, concurrency 1": [], "skopeo copy to dir:": [] };
  const time = async (name: string, fn: () => Promise<void> | void) => {
    const t = performance.now();
    await fn();
    times[name]!.push(performance.now() - t);
  };
  for (let i = 0; i < runs; i++) {
    const a = join(work, `husk-${i}`);
    await time("husk pull", () => pullImage(new ImageStore(a), ref).then(() => {}));
    const b = join(work, `husk1-${i}`);
    await time("husk pull, concurrency 1", () => pullImage(new ImageStore(b), ref, { concurrency: 1 }).then(() => {}));
    const c = join(work, `skopeo-${i}`);
    await time("skopeo copy to dir:", () => {
      runTool("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${ref}`, `dir:${c}`]);
    });
    for (const d of [a, b, c]) rmSync(d, { recursive: true, force: true });
  }
  const base = median(times["skopeo copy to dir:"]!);
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(
      `${name.padEnd(26)} ${m.toFixed(0).padStart(6)} ms  (min ${Math.min(...xs).toFixed(0)}, ${(total / 1e6 / (m / 1000)).toFixed(0)} MB/s, ${(m / base).toFixed(2)}× skopeo)`,
    );
  }
} finally {
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}
