/**
 * The image module under Node (the library's other runtime): bundled for Node by bun build and
 * run by `node`, it builds busybox (the store lock through the helper's --flock), saves and
 * re-imports it, imports a zstd rootfs stream (Node 20's zlib has no zstd: fzstd) and prepares
 * an overlay rootfs. Skipped without node >= 20.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { describeAsRoot } from "../fixtures/husk.ts";
import { makeTar, removeDir, tempDir } from "../fixtures/image.ts";

const REPO = join(import.meta.dir, "../..");
const nodeMajor = Number(/^v(\d+)/.exec(spawnSync("node", ["--version"], { encoding: "utf8" }).stdout ?? "")?.[1] ?? 0);

describeAsRoot("image module on Node", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir("node");
  });
  afterEach(() => removeDir(dir));

  test.skipIf(nodeMajor < 20)("busybox, save, import (zstd through fzstd) and rootfs", async () => {
    const entry = join(dir, "entry.ts");
    writeFileSync(
      join(dir, "rootfs.tar.zst"),
      zlib.zstdCompressSync(
        makeTar([
          { path: "etc/os-release", type: "file", data: "ID=test\n" },
          { path: "bin/sh", type: "symlink", linkname: "busybox" },
        ]),
      ),
    );
    writeFileSync(
      entry,
      `import { createReadStream } from "node:fs";
import * as zlib from "node:zlib";
import { setPackageRoot } from ${JSON.stringify(join(REPO, "src/package-root.ts"))};
import { ImageStore, ensureBusybox, importImage, saveImage, prepareRootfs } from ${JSON.stringify(join(REPO, "src/image/index.ts"))};
setPackageRoot(${JSON.stringify(REPO)});
const dir = ${JSON.stringify(dir)};
const a = new ImageStore(dir + "/a");
const built = await Promise.all([ensureBusybox(a), ensureBusybox(a)]);
await saveImage(a, ["busybox"], dir + "/bb.tar");
const b = new ImageStore(dir + "/b");
const imported = await importImage(b, dir + "/bb.tar");
const zstd = await importImage(b, createReadStream(dir + "/rootfs.tar.zst"), { tags: ["z:1"] });
const rootfs = await prepareRootfs(b, "z:1", dir + "/c");
console.log(JSON.stringify({
  zlibZstd: typeof zlib.createZstdDecompress === "function",
  built: built.map((r) => r.built).sort(),
  same: imported.images[0].id === built[0].id,
  tags: imported.images[0].tags,
  zstd: zstd.format,
  list: (await b.list()).map((i) => i.repoTags).sort(),
  lower: rootfs.lowerdirs.length,
}));`,
    );
    // --splitting keeps sys/bun.ts (bun:ffi), which sys/index.ts imports only under Bun, in its own chunk.
    const bundle = spawnSync(
      process.execPath,
      [
        "build",
        entry,
        "--target=node",
        "--format=esm",
        "--splitting",
        `--outdir=${join(dir, "out")}`,
        "--entry-naming=[name].mjs",
      ],
      { encoding: "utf8" },
    );
    expect(bundle.stderr).not.toMatch(/error/);
    const r = spawnSync("node", [join(dir, "out/entry.mjs")], { encoding: "utf8", timeout: 60000 });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      built: [false, true],
      same: true,
      tags: ["busybox:latest"],
      zstd: "rootfs",
      list: [["busybox:latest"], ["z:1"]],
      lower: 1,
    });
    if (nodeMajor < 22) expect(out.zlibZstd).toBe(false); // so fzstd read the zstd stream
    const diffs = spawnSync("sh", ["-c", `cat ${dir}/b/images/layers/*/diff/etc/os-release`], { encoding: "utf8" });
    expect(diffs.stdout).toBe("ID=test\n");
    expect(readFileSync(join(dir, "bb.tar")).length).toBeGreaterThan(1000000);
  });
});
