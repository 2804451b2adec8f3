/**
 * The image module's pure parts: compression told by magic bytes (gzip, zstd through node:zlib
 * and through fzstd), image lookup in an index (tags, digests, id prefixes), OCI document checks
 * and platform choice, overlay mount options, and the static-binary check for busybox.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as zlib from "node:zlib";
import { elfIsDynamic } from "../../src/image/busybox.ts";
import { decompress, sniffCompression, throughFzstd } from "../../src/image/compression.ts";
import { checkConfig, checkManifest, type Digest, type Index, MediaType, pickManifest } from "../../src/image/oci.ts";
import { MOUNT_DATA_MAX, overlayData } from "../../src/image/rootfs.ts";
import { findImage, type IndexFile } from "../../src/image/store.ts";

async function all(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunks(data: Uint8Array, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe("compression", () => {
  const plain = Buffer.from("tar bytes ".repeat(10000));

  test("told by the first bytes", () => {
    expect(sniffCompression(zlib.gzipSync(plain))).toBe("gzip");
    expect(sniffCompression(zlib.zstdCompressSync(plain))).toBe("zstd");
    expect(sniffCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe("xz");
    expect(sniffCompression(Buffer.from("BZh91AY"))).toBe("bzip2");
    expect(sniffCompression(plain)).toBe("none");
    expect(sniffCompression(new Uint8Array())).toBe("none");
  });

  test("none, gzip and zstd decompress, whatever the chunking", async () => {
    expect(await all(decompress(chunks(plain, 1)))).toEqual(plain);
    expect(await all(decompress(chunks(zlib.gzipSync(plain), 3)))).toEqual(plain);
    expect(await all(decompress(chunks(zlib.zstdCompressSync(plain))))).toEqual(plain);
  });

  test("concatenated gzip members (pigz, some layer writers)", async () => {
    const two = Buffer.concat([zlib.gzipSync(plain), zlib.gzipSync(plain)]);
    expect(await all(decompress(chunks(two)))).toEqual(Buffer.concat([plain, plain]));
  });

  test("the fzstd fallback (Node 20) reads what zstd wrote", async () => {
    const z = zlib.zstdCompressSync(plain);
    expect(await all(throughFzstd(chunks(z, 17)))).toEqual(plain);
  });

  test("xz is refused clearly; corrupt gzip fails", async () => {
    await expect(all(decompress(chunks(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1]))))).rejects.toThrow(
      /xz-compressed archives and layers are not supported/,
    );
    const bad = zlib.gzipSync(plain);
    bad.fill(0, 20, 60);
    await expect(all(decompress(chunks(bad)))).rejects.toThrow();
  });
});

const id = (c: string) => `sha256:${c.repeat(64)}` as Digest;

describe("finding an image in the index", () => {
  const idx: IndexFile = {
    version: 1,
    images: {
      [id("a")]: { manifest: id("1"), added: "" },
      [id("b")]: { manifest: id("2"), added: "" },
      [`sha256:ab${"c".repeat(62)}`]: { manifest: id("3"), added: "" },
    },
    tags: { "docker.io/library/busybox:latest": id("a"), "r.example/x:1": id("b") },
  };
  test("by name:tag, normalised", () => {
    expect(findImage(idx, "busybox")).toEqual({ id: id("a"), tag: "docker.io/library/busybox:latest" });
    expect(findImage(idx, "docker.io/library/busybox:latest")?.id).toBe(id("a"));
    expect(findImage(idx, "r.example/x:1")?.id).toBe(id("b"));
    expect(findImage(idx, "busybox:1")).toBeUndefined();
  });
  test("by id, by manifest digest, by name@digest", () => {
    expect(findImage(idx, id("b"))).toEqual({ id: id("b") });
    expect(findImage(idx, id("2"))).toEqual({ id: id("b") });
    expect(findImage(idx, `whatever@${id("1")}`)).toEqual({ id: id("a") });
  });
  test("by unique id prefix, with or without sha256:", () => {
    expect(findImage(idx, "bbbb")?.id).toBe(id("b"));
    expect(findImage(idx, "sha256:aaaa")?.id).toBe(id("a"));
    expect(() => findImage(idx, "abcc")).not.toThrow();
    expect(findImage(idx, "sha256:a")).toBeUndefined(); // too short for an id: the reference sha256:a
  });
  test("an ambiguous prefix is an error", () => {
    const two: IndexFile = {
      ...idx,
      images: { [id("a")]: idx.images[id("a")]!, [`sha256:aaaa${"f".repeat(60)}`]: idx.images[id("b")]! },
    };
    expect(() => findImage(two, "aaaa")).toThrow(/ambiguous image id prefix \(2 images match\)/);
    expect(findImage(two, "aaaaa")?.id).toBe(id("a"));
  });
  test("a bad reference that is no id either says why", () => {
    expect(() => findImage(idx, "Bad:Ref:")).toThrow(/invalid reference format/);
  });
});

describe("OCI documents", () => {
  const desc = (digest: Digest, mediaType: string, platform?: { architecture: string; os: string }) => ({
    mediaType,
    digest,
    size: 1,
    platform,
  });
  test("a manifest needs a config and known layer types", () => {
    const m = { schemaVersion: 2, config: desc(id("c"), MediaType.ociConfig), layers: [desc(id("d"), MediaType.ociLayerGzip)] };
    expect(checkManifest(m, "m").layers.length).toBe(1);
    expect(() => checkManifest({ ...m, layers: [desc(id("d"), "text/plain")] }, "m")).toThrow(/unsupported layer media type/);
    expect(() => checkManifest({ ...m, config: { ...m.config, digest: "sha512:00" } }, "m")).toThrow(
      /unsupported digest algorithm/,
    );
    expect(() => checkManifest({ schemaVersion: 1 }, "m")).toThrow(/not an image manifest/);
  });
  test("a config needs rootfs.diff_ids", () => {
    expect(() => checkConfig({ architecture: "amd64", os: "linux" }, "c")).toThrow(/no rootfs.diff_ids/);
    expect(checkConfig({ rootfs: { type: "layers", diff_ids: [id("e")] } }, "c").rootfs.diff_ids).toEqual([id("e")]);
  });
  test("the manifest for this platform is picked from an index", () => {
    const index: Index = {
      schemaVersion: 2,
      manifests: [
        desc(id("1"), MediaType.ociManifest, { architecture: "arm64", os: "linux" }),
        desc(id("2"), MediaType.ociManifest, { architecture: "amd64", os: "linux" }),
        desc(id("3"), "application/vnd.in-toto+json"),
      ],
    };
    expect(pickManifest(index, { architecture: "amd64", os: "linux" })?.digest).toBe(id("2"));
    expect(pickManifest(index, { architecture: "s390x", os: "linux" })).toBeUndefined();
  });
});

describe("overlay mount options", () => {
  test("top layer first, upper and work, index off", () => {
    expect(overlayData(["/l/2", "/l/1"], "/c/upper", "/c/work")).toBe(
      "lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work,index=off",
    );
  });
  test("paths overlayfs cannot carry and too many layers are refused before mounting", () => {
    expect(() => overlayData(["/a:b"], "/u", "/w")).toThrow(/cannot take a path/);
    expect(() => overlayData(["/a"], "/u,x", "/w")).toThrow(/cannot take a path/);
    expect(() => overlayData([], "/u", "/w")).toThrow(/no lower directory/);
    const many = Array.from({ length: 60 }, (_, i) => `/var/lib/husk/images/layers/${String(i).padStart(64, "0")}/diff`);
    expect(() => overlayData(many, "/u", "/w")).toThrow(
      new RegExp(`60 layers make \\d+ bytes of mount options, more than ${MOUNT_DATA_MAX}`),
    );
  });
});

test("busybox must be static: the ELF check", () => {
  expect(elfIsDynamic(readFileSync("/bin/busybox").subarray(0, 4096))).toBe(false);
  expect(elfIsDynamic(readFileSync(process.execPath).subarray(0, 4096))).toBe(true);
  expect(() => elfIsDynamic(Buffer.alloc(64))).toThrow(/not an ELF/);
});
