/**
 * Saving images as archives:
 *   oci-archive     a tar of an OCI image layout: oci-layout, index.json (with
 *                   io.containerd.image.name and org.opencontainers.image.ref.name
 *                   annotations per tag), blobs/sha256/<hex>
 *   docker-archive  the same layout plus docker's manifest.json (Config, RepoTags, Layers pointing
 *                   into blobs/), as `docker save` has written since docker 25: `docker load`
 *                   and OCI tools read it alike
 * Blobs are written as stored (a layer keeps its compression), each once. Written to a
 * temporary file beside the destination and renamed, or to a stream.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fromSystemError, HuskError } from "../errors.ts";
import { Annotation, type Descriptor, type Digest, hexOf, type Index, MediaType } from "./oci.ts";
import { familiarString, parseRef } from "./reference.ts";
import { findImage, type ImageStore } from "./store.ts";
import { TAR_END, tarHeader, tarPadding } from "./tar-writer.ts";

export type SaveFormat = "docker-archive" | "oci-archive";

export interface SaveOptions {
  /** Default docker-archive. */
  format?: SaveFormat;
}

interface Saved {
  id: Digest;
  manifest: Descriptor;
  layers: Digest[];
  /** Normalised references of the tags saved with it. */
  tags: string[];
}

async function* archive(store: ImageStore, images: Saved[], format: SaveFormat): AsyncGenerator<Buffer> {
  const mtime = 0;
  const file = (path: string, data: Buffer) => [
    tarHeader({ path, type: "file", size: data.length, mtime }),
    data,
    tarPadding(data.length),
  ];
  yield tarHeader({ path: "blobs", type: "dir", mtime });
  yield tarHeader({ path: "blobs/sha256", type: "dir", mtime });
  const written = new Set<string>();
  for (const img of images) {
    for (const d of [img.manifest.digest, img.id, ...img.layers]) {
      if (written.has(d)) continue;
      written.add(d);
      const path = store.blobPath(d);
      const { size } = await fsp.stat(path);
      yield tarHeader({ path: `blobs/sha256/${hexOf(d)}`, type: "file", size, mode: 0o444, mtime });
      let n = 0;
      for await (const chunk of createReadStream(path)) {
        n += chunk.length;
        yield chunk as Buffer;
      }
      if (n !== size) throw new HuskError(`blob changed size while being saved`, { what: `save ${d}` });
      yield tarPadding(size);
    }
  }
  yield* file("oci-layout", Buffer.from(`${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`));
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.flatMap((img) =>
      img.tags.length === 0
        ? [img.manifest]
        : img.tags.map((t) => ({
            ...img.manifest,
            annotations: { [Annotation.imageName]: t, [Annotation.refName]: parseRef(t).tag ?? "" },
          })),
    ),
  };
  yield* file("index.json", Buffer.from(`${JSON.stringify(index)}\n`));
  if (format === "docker-archive") {
    const manifest = images.map((img) => ({
      Config: `blobs/sha256/${hexOf(img.id)}`,
      RepoTags: img.tags.length ? img.tags.map((t) => familiarString(parseRef(t))) : null,
      Layers: img.layers.map((l) => `blobs/sha256/${hexOf(l)}`),
    }));
    yield* file("manifest.json", Buffer.from(`${JSON.stringify(manifest)}\n`));
  }
  yield TAR_END;
}

/**
 * Write the images refs name to dest (a file path, or a stream the caller ends). A name:tag
 * saves that tag with the image; an id saves it untagged, as docker does.
 */
export async function saveImage(
  store: ImageStore,
  refs: string[],
  dest: string | Writable,
  opts: SaveOptions = {},
): Promise<void> {
  const format = opts.format ?? "docker-archive";
  const what = `save ${refs.join(" ")}`;
  if (refs.length === 0) throw new HuskError("no image to save", { what });
  const idx = await store.readIndex();
  const byId = new Map<Digest, Saved>();
  for (const ref of refs) {
    const hit = findImage(idx, ref);
    if (!hit) throw new HuskError("no such image", { what: `image "${ref}"` });
    let img = byId.get(hit.id);
    if (!img) {
      const entry = idx.images[hit.id]!;
      const manifest = await store.manifest(entry.manifest);
      const size = (await fsp.stat(store.blobPath(entry.manifest))).size;
      img = {
        id: hit.id,
        manifest: { mediaType: manifest.mediaType ?? MediaType.ociManifest, digest: entry.manifest, size },
        layers: manifest.layers.map((l) => l.digest),
        tags: [],
      };
      byId.set(hit.id, img);
    }
    if (hit.tag && !img.tags.includes(hit.tag)) img.tags.push(hit.tag);
  }
  const images = [...byId.values()];
  // A lease keeps a concurrent prune from removing what is being written.
  await store.withLease(async (lease) => {
    for (const img of images) for (const d of [img.manifest.digest, img.id, ...img.layers]) await lease.add(d);
    const source = Readable.from(archive(store, images, format));
    if (typeof dest !== "string") {
      await pipeline(source, dest, { end: false });
      return;
    }
    const tmp = join(dirname(dest), `.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
    try {
      await pipeline(source, createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err instanceof HuskError ? err : fromSystemError(err, what);
    }
  });
}
