/**
 * Import and save: OCI layouts made by umoci (as a directory and as a tar), docker-archives and
 * oci-archives written by skopeo, a docker-archive in the old `docker save` form built by hand
 * (manifest.json last, a layer linked to another), plain rootfs tarballs (gzip file, zstd
 * stream), and archives husk saves read back by skopeo and by husk. Layers are shared by diff_id
 * whatever archive brought them; a corrupt blob fails the import and leaves no image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { importImage } from "../../src/image/import.ts";
import { saveImage } from "../../src/image/save.ts";
import { ImageStore } from "../../src/image/store.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { have, makeTar, removeDir, run, streamOf, tempDir } from "../fixtures/image.ts";
import { makeRootfs } from "../fixtures/rootfs.ts";

const tools = have("umoci") && have("skopeo");

describeAsRoot("image import and save", () => {
  let work: string;
  let layout: string;

  beforeAll(() => {
    work = tempDir("import");
    if (!tools) return;
    // An OCI layout of a busybox rootfs, made by umoci.
    layout = join(work, "layout");
    const bundle = join(work, "bundle");
    run("umoci", ["init", "--layout", layout]);
    run("umoci", ["new", "--image", `${layout}:latest`]);
    run("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
    makeRootfs(join(bundle, "rootfs"));
    run("umoci", ["repack", "--image", `${layout}:latest`, bundle]);
    run("umoci", ["config", "--image", `${layout}:latest`, "--config.cmd", "sh", "--config.env", "FOO=bar"]);
  });
  afterAll(() => removeDir(work));

  function fresh(): { store: ImageStore; warnings: string[]; root: string } {
    const root = join(work, `root-${Math.random().toString(36).slice(2)}`);
    const warnings: string[] = [];
    return { store: new ImageStore(root, { onWarning: (m) => warnings.push(m) }), warnings, root };
  }

  const sh = (dir: string, script: string) => run("/usr/sbin/chroot", [dir, "/bin/sh", "-c", script]);

  describe.skipIf(!tools)("umoci and skopeo archives (skipped without umoci and skopeo)", () => {
    test("an OCI layout directory (umoci)", async () => {
      const { store, warnings } = fresh();
      const r = await importImage(store, layout, { tags: ["bb-umoci:1"] });
      expect(r.format).toBe("oci-dir");
      expect(r.images.length).toBe(1);
      // umoci names it "latest" only: no repository, so only the tags given apply.
      expect(warnings.join("\n")).toMatch(/named "latest" in the layout, which is not a full reference/);
      const info = await store.inspect("bb-umoci:1");
      expect(info.config.Cmd).toEqual(["sh"]);
      expect(info.config.Env).toContain("FOO=bar");
      expect(info.manifest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
      expect(sh(info.layers[0]!.dir, "echo $((1+1))")).toBe("2\n");
    });

    test("an oci-archive (a tar of umoci's layout) and a docker-archive (skopeo) share the layer", async () => {
      const { store, root } = fresh();
      const ociTar = join(work, "layout.tar");
      run("tar", ["-C", layout, "-cf", ociTar, "."]);
      const a = await importImage(store, ociTar, { tags: ["bb:oci"] });
      expect(a.format).toBe("oci-archive");
      const dockerTar = join(work, "skopeo-docker.tar");
      run("skopeo", ["copy", "-q", `oci:${layout}:latest`, `docker-archive:${dockerTar}:bb-skopeo:1`]);
      const b = await importImage(store, dockerTar);
      expect(b).toMatchObject({ format: "docker-archive", images: [{ tags: ["bb-skopeo:1"] }] });
      const info = await store.inspect("bb-skopeo:1");
      expect(info.config.Cmd).toEqual(["sh"]);
      // skopeo stored the layer uncompressed: another blob, the same diff_id, one unpacked layer.
      expect(info.manifest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
      expect(readdirSync(join(root, "images/layers")).length).toBe(1);
      expect((await store.list()).length).toBe(1); // the same config: one image, two tags
      expect((await store.inspect("bb:oci")).repoTags).toEqual(["bb-skopeo:1", "bb:oci"]);
    });

    test("an oci-archive (skopeo) read from a gzip stream", async () => {
      const { store } = fresh();
      const ociTar = join(work, "skopeo-oci.tar");
      run("skopeo", ["copy", "-q", `oci:${layout}:latest`, `oci-archive:${ociTar}:docker.io/library/bbs:2`]);
      writeFileSync(`${ociTar}.gz`, zlib.gzipSync(readFileSync(ociTar)));
      const r = await importImage(store, createReadStream(`${ociTar}.gz`));
      expect(r).toMatchObject({ format: "oci-archive", images: [{ tags: ["bbs:2"] }] });
      expect((await store.inspect("bbs:2")).repoTags).toEqual(["bbs:2"]);
    });

    test("saved archives are read by skopeo and by husk (docker-archive and oci-archive)", async () => {
      const { store } = fresh();
      await importImage(store, layout, { tags: ["saved:1"] });
      const id = (await store.inspect("saved:1")).id;
      for (const format of ["docker-archive", "oci-archive"] as const) {
        const file = join(work, `saved-${format}.tar`);
        await saveImage(store, ["saved:1"], file, { format });
        const inspected = JSON.parse(run("skopeo", ["inspect", `${format}:${file}`]));
        expect(inspected.Digest).toBeDefined();
        const copy = join(work, `copy-${format}`);
        run("skopeo", ["copy", "-q", `${format}:${file}`, `oci:${copy}:x`]);
        const again = fresh();
        const r = await importImage(again.store, file);
        expect(r.format).toBe(format);
        expect(r.images[0]!.id).toBe(id);
        expect((await again.store.inspect(id)).repoTags).toEqual(["saved:1"]);
      }
    });
  });

  test("a docker-archive in the old docker save form: layer dirs, a linked layer, manifest.json last", async () => {
    const { store, root } = fresh();
    const layer1 = makeTar([
      { path: "etc", type: "dir" },
      { path: "etc/keep", type: "file", data: "keep" },
      { path: "etc/gone", type: "file", data: "gone" },
      { path: "var/cache/old", type: "file", data: "old" },
    ]);
    const layer2 = makeTar([
      { path: "etc/.wh.gone", type: "file" },
      { path: "var/cache/.wh..wh..opq", type: "file" },
      { path: "var/cache/new", type: "file", data: "new" },
    ]);
    const sha = (b: Buffer) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: ["/bin/true"], Env: ["A=b"] },
        rootfs: { type: "layers", diff_ids: [layer1, layer2, layer1].map((l) => `sha256:${sha(l)}`) },
      }),
    );
    const manifest = [
      {
        Config: `${sha(config)}.json`,
        RepoTags: ["old:1", "registry.example/old:2"],
        Layers: ["l1/layer.tar", "l2/layer.tar", "l3/layer.tar"],
      },
    ];
    const archive = makeTar([
      { path: "l1", type: "dir" },
      { path: "l1/VERSION", type: "file", data: "1.0" },
      { path: "l1/layer.tar", type: "file", data: layer1 },
      { path: "l2/layer.tar", type: "file", data: layer2 },
      { path: "l3/layer.tar", type: "symlink", linkname: "../l1/layer.tar" },
      { path: `${sha(config)}.json`, type: "file", data: config },
      { path: "repositories", type: "file", data: "{}" },
      { path: "manifest.json", type: "file", data: JSON.stringify(manifest) },
    ]);
    const r = await importImage(store, streamOf(archive, 1000));
    expect(r).toMatchObject({ format: "docker-archive", images: [{ tags: ["old:1", "registry.example/old:2"] }] });
    const info = await store.inspect("registry.example/old:2");
    expect(info.id).toBe(`sha256:${sha(config)}`);
    expect(info.layers.map((l): string => l.diffId)).toEqual([layer1, layer2, layer1].map((l) => `sha256:${sha(l)}`));
    expect(readdirSync(join(root, "images/layers")).length).toBe(2);
    expect(info.config).toEqual({ Cmd: ["/bin/true"], Env: ["A=b"] });
    const upper = info.layers[1]!.dir;
    expect(existsSync(join(upper, "etc/gone"))).toBe(true); // as a whiteout device
  });

  test("a docker-archive whose config does not hash to its name is refused", async () => {
    const { store } = fresh();
    const config = JSON.stringify({ rootfs: { type: "layers", diff_ids: [] }, os: "linux" });
    const archive = makeTar([
      { path: `${"0".repeat(64)}.json`, type: "file", data: config },
      { path: "manifest.json", type: "file", data: JSON.stringify([{ Config: `${"0".repeat(64)}.json`, Layers: [] }]) },
    ]);
    await expect(importImage(store, streamOf(archive))).rejects.toThrow(/content does not match its digest/);
    expect(await store.list()).toEqual([]);
  });

  test("rootfs tarballs: a gzip file and a zstd stream, with tags and a config", async () => {
    const { store, root } = fresh();
    const rootfs = join(work, "rootfs");
    mkdirSync(rootfs, { recursive: true });
    makeRootfs(rootfs);
    const tgz = join(work, "rootfs.tgz");
    run("tar", ["-C", rootfs, "-czf", tgz, "."]);
    const a = await importImage(store, tgz, { tags: ["myroot:1"], config: { Cmd: ["sh"] } });
    expect(a.format).toBe("rootfs");
    const info = await store.inspect("myroot:1");
    expect(info.config).toEqual({ Cmd: ["sh"] });
    expect(sh(info.layers[0]!.dir, "cat /etc/hostname")).toBe("fixture\n");
    // The same tar, zstd-compressed, as a stream: the same layer (diff_id), now a second image.
    const zst = zlib.zstdCompressSync(zlib.gunzipSync(readFileSync(tgz)));
    const b = await importImage(store, streamOf(zst, 65536), { tags: ["myroot:zstd"] });
    expect((await store.inspect("myroot:zstd")).config).toEqual({
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    });
    expect(b.images[0]!.id).not.toBe(a.images[0]!.id);
    expect(readdirSync(join(root, "images/layers")).length).toBe(1);
    expect(readdirSync(join(root, "images/tmp"))).toEqual([]);
  });

  test.skipIf(!tools)("a corrupt blob in a layout fails the import and registers nothing", async () => {
    const { store, root } = fresh();
    const bad = join(work, "bad-layout");
    run("cp", ["-a", layout, bad]);
    const index = JSON.parse(readFileSync(join(bad, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(bad, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
    const layerFile = join(bad, "blobs/sha256", manifest.layers[0].digest.slice(7));
    const data = readFileSync(layerFile);
    data[data.length - 100]! ^= 0xff;
    writeFileSync(layerFile, data);
    await expect(importImage(store, bad, { tags: ["bad:1"] })).rejects.toThrow(/content does not match its digest/);
    expect(await store.list()).toEqual([]);
    expect(readdirSync(join(root, "images/tmp"))).toEqual([]);
    expect(readdirSync(join(root, "images/layers"))).toEqual([]);
  });

  test("what is not an image archive says so", async () => {
    const { store } = fresh();
    await expect(importImage(store, streamOf(Buffer.from("hello, not a tar\n".repeat(100))))).rejects.toThrow(
      /import stream: not a readable tar archive: .*bad tar header checksum/,
    );
    await expect(importImage(store, join(work, "nonexistent.tar"))).rejects.toThrow(/no such file or directory \(ENOENT\)/);
    await expect(importImage(store, streamOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0])))).rejects.toThrow(
      /xz-compressed archives and layers are not supported/,
    );
  });
});
