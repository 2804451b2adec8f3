/**
 * A container rootfs from image layers, mounted for real with overlayfs: upper layers' whiteouts
 * hide lower files, opaque directories hide lower directories' contents, later layers win, the
 * container's writes land in its upper dir and the layers stay untouched; and the built-in
 * busybox image mounted this way runs a shell.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBusybox } from "../../src/image/busybox.ts";
import { commitLayers } from "../../src/image/import.ts";
import type { Digest } from "../../src/image/oci.ts";
import { prepareRootfs } from "../../src/image/rootfs.ts";
import { ImageStore } from "../../src/image/store.ts";
import { describeAsRoot, ourMounts } from "../fixtures/husk.ts";
import { makeTar, removeDir, run, streamOf, type TarSpec, tempDir, tree } from "../fixtures/image.ts";

describeAsRoot("overlay rootfs from image layers", () => {
  let dir: string;
  let store: ImageStore;
  let mounted: string[];
  let before: string[];

  beforeEach(() => {
    before = ourMounts();
    dir = tempDir("overlay");
    store = new ImageStore(join(dir, "data"));
    mounted = [];
  });

  afterEach(() => {
    try {
      for (const m of mounted.reverse()) run("umount", [m]);
    } finally {
      removeDir(dir);
    }
    expect(ourMounts()).toEqual(before);
  });

  async function image(layers: TarSpec[], tag: string): Promise<Digest> {
    return store.withLease(async (lease) => {
      const blobs = [];
      for (const l of layers) {
        const b = await store.ingest(streamOf(makeTar(l)), lease);
        blobs.push({ ...b, diffId: b.digest });
      }
      return commitLayers(store, lease, blobs, { config: {}, tags: [tag], created: "2024-01-01T00:00:00Z", createdBy: "test" });
    });
  }

  async function mount(ref: string, container: string) {
    const r = await prepareRootfs(store, ref, join(dir, container));
    run("mount", ["-t", "overlay", "overlay", "-o", r.data, r.target]);
    mounted.push(r.target);
    return r;
  }

  test("whiteouts and opaque directories of upper layers hide lower files", async () => {
    await image(
      [
        [
          { path: "a/x", type: "file", data: "x" },
          { path: "a/y", type: "file", data: "y" },
          { path: "d/keep", type: "file", data: "k" },
          { path: "d/sub/z", type: "file", data: "z" },
          { path: "f", type: "file", data: "lower" },
          { path: "gone-dir/inner", type: "file", data: "i" },
        ],
        [
          { path: "a/.wh.x", type: "file" },
          { path: "d/.wh..wh..opq", type: "file" },
          { path: "d/new", type: "file", data: "n" },
          { path: "f", type: "file", data: "middle" },
          { path: ".wh.gone-dir", type: "file" },
        ],
        [{ path: "top", type: "file", data: "t" }],
      ],
      "layered:1",
    );
    const info = await store.inspect("layered:1");
    const layersBefore = info.layers.map((l) => tree(l.dir));
    const r = await mount("layered:1", "c1");
    expect(r.lowerdirs).toEqual(info.layers.map((l) => l.dir).reverse());
    const root = r.target;
    expect(readdirSync(root).sort()).toEqual(["a", "d", "f", "top"]);
    expect(readdirSync(join(root, "a"))).toEqual(["y"]);
    expect(readdirSync(join(root, "d"))).toEqual(["new"]);
    expect(readFileSync(join(root, "f"), "utf8")).toBe("middle");
    expect(existsSync(join(root, "gone-dir"))).toBe(false);

    // The container's changes go to its upper dir; the layers are not touched.
    writeFileSync(join(root, "a/written"), "w");
    unlinkSync(join(root, "a/y"));
    rmSync(join(root, "top"));
    expect(readFileSync(join(r.upperdir, "a/written"), "utf8")).toBe("w");
    expect(info.layers.map((l) => tree(l.dir))).toEqual(layersBefore);

    // A second container of the same image sees the image, not the first one's changes.
    const r2 = await mount("layered:1", "c2");
    expect(readdirSync(join(r2.target, "a")).sort()).toEqual(["y"]);
    expect(existsSync(join(r2.target, "top"))).toBe(true);
  });

  test("the built-in busybox image, mounted, runs a shell", async () => {
    await ensureBusybox(store);
    const r = await mount("busybox", "bb");
    const out = run("/usr/sbin/chroot", [r.target, "/bin/sh", "-c", "echo hello > /tmp/x && cat /tmp/x && ls /bin/ls && id -un"]);
    expect(out).toBe("hello\n/bin/ls\nroot\n");
    expect(readFileSync(join(r.upperdir, "tmp/x"), "utf8")).toBe("hello\n");
  });
});
