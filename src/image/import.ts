/**
 * Importing images from files and streams: docker-archive (`docker save`: manifest.json with
 * Config, RepoTags and Layers), OCI image layout directories and oci-archives (a tar of one),
 * and plain rootfs tarballs (one layer, a minimal config). Compressed input (gzip, zstd) is
 * decompressed first.
 *
 * A stream or a compressed file is spooled, decompressed, into the store's tmp/ while being
 * hashed: then its members can be read by offset in whatever order the archive has them
 * (docker writes manifest.json last), and a rootfs tarball is already its own layer blob. Every
 * blob goes through the store's verified ingest; layers are checked against the config's
 * diff_ids as they are unpacked (store.commitImage).
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { fromSystemError, HuskError } from "../errors.ts";
import { type Archive, DirArchive, TarArchive } from "./archive.ts";
import { decompress, sniffCompression } from "./compression.ts";
import {
  Annotation,
  type ContainerConfig,
  checkConfig,
  checkIndex,
  checkManifest,
  type Descriptor,
  type Digest,
  type HistoryEntry,
  hexOf,
  hostPlatform,
  type ImageConfig,
  layerMediaType,
  type Manifest,
  MediaType,
  parseJson,
  pickManifest,
} from "./oci.ts";
import { familiarString, parseRef } from "./reference.ts";
import type { ImageStore, Lease } from "./store.ts";

export type ImportFormat = "docker-archive" | "oci-archive" | "oci-dir" | "rootfs";

/** A file or OCI layout directory by path, or a stream of an archive's bytes. */
export type ImportSource = string | AsyncIterable<Uint8Array>;

export interface ImportOptions {
  /** Default: told from the contents (oci-layout → OCI, manifest.json → docker, else rootfs). */
  format?: ImportFormat;
  /** Tags for every imported image, besides those the archive names. */
  tags?: string[];
  /** For a rootfs tarball: the config's runtime part; default Env PATH=<the usual>. */
  config?: ContainerConfig;
}

export interface ImportResult {
  format: ImportFormat;
  /** What was imported, with the tags it got (as docker shows them: busybox:latest). */
  images: { id: Digest; tags: string[] }[];
}

export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const MANIFEST_ACCEPT: ReadonlySet<string> = new Set([MediaType.ociManifest, MediaType.dockerManifest]);
const INDEX_ACCEPT: ReadonlySet<string> = new Set([MediaType.ociIndex, MediaType.dockerManifestList]);

/** A tag as docker shows it (commitImage has checked it parses). */
const familiar = (tag: string) => familiarString(parseRef(tag));

function json(data: Buffer, what: string): unknown {
  return parseJson(data, what);
}

async function storeJson(store: ImageStore, lease: Lease, value: unknown): Promise<Descriptor & { bytes: Buffer }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const { digest, size } = await store.ingestBytes(bytes, lease);
  return { mediaType: "", digest, size, bytes };
}

/** The compression of a file, from its first bytes. */
async function fileCompression(path: string): Promise<ReturnType<typeof sniffCompression>> {
  const fh = await fsp.open(path, "r");
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, 6, 0);
    return sniffCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The compression of a stored blob. */
async function blobCompression(store: ImageStore, digest: Digest): Promise<"none" | "gzip" | "zstd"> {
  const kind = await fileCompression(store.blobPath(digest));
  if (kind === "xz" || kind === "bzip2") throw new HuskError(`${kind}-compressed layers are not supported`, { what: digest });
  return kind;
}

/**
 * Make an image of layer blobs already in the store (bottom first): an OCI config with
 * `container` as its runtime part and an OCI manifest, then commit it with tags.
 */
export async function commitLayers(
  store: ImageStore,
  lease: Lease,
  layers: { digest: Digest; size: number; diffId: Digest }[],
  opts: {
    config: ContainerConfig;
    tags: string[];
    created: string;
    createdBy: string;
    /** The history as it is (a commit's: its image's, then its own); default one entry per layer, createdBy. */
    history?: HistoryEntry[];
    author?: string;
  },
): Promise<Digest> {
  const platform = hostPlatform();
  const config: ImageConfig = {
    created: opts.created,
    ...(opts.author ? { author: opts.author } : {}),
    architecture: platform.architecture,
    os: platform.os,
    config: opts.config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: opts.history ?? layers.map(() => ({ created: opts.created, created_by: opts.createdBy })),
  };
  const cfg = await storeJson(store, lease, config);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: await Promise.all(
      layers.map(async (l) => ({
        mediaType: layerMediaType(await blobCompression(store, l.digest)),
        digest: l.digest,
        size: l.size,
      })),
    ),
  };
  const m = await storeJson(store, lease, manifest);
  return store.commitImage(m.digest, opts.tags, lease);
}

// ------------------------------------------------------------------ docker-archive

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** The digest a member's name promises: blobs/sha256/<hex>, <hex>.json, <hex>/layer.tar does not. */
function digestInName(name: string): Digest | undefined {
  const m = /(?:^|\/)sha256\/([0-9a-f]{64})$/.exec(name) ?? /^([0-9a-f]{64})\.json$/.exec(name);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

async function importDocker(store: ImageStore, lease: Lease, archive: Archive, opts: ImportOptions): Promise<ImportResult> {
  const what = `import ${archive.name}: manifest.json`;
  const list = json(await archive.read("manifest.json"), what);
  if (!Array.isArray(list) || list.length === 0) throw new HuskError("not a list of images", { what });
  const images: ImportResult["images"] = [];
  for (const [i, raw] of list.entries()) {
    const e = raw as DockerManifestEntry;
    const at = `${what}[${i}]`;
    if (typeof e?.Config !== "string" || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === "string")) {
      throw new HuskError("an entry needs Config and Layers", { what: at });
    }
    const cfgBytes = await archive.read(e.Config);
    const cfg = await store.ingestBytes(cfgBytes, lease, { digest: digestInName(e.Config) });
    const config = checkConfig(json(cfgBytes, `${at}: ${e.Config}`), `${at}: ${e.Config}`);
    if (config.rootfs.diff_ids.length !== e.Layers.length) {
      throw new HuskError(`${e.Layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in the config`, { what: at });
    }
    const layers: Descriptor[] = [];
    for (const name of e.Layers) {
      const blob = await store.ingest(await archive.open(name), lease, { digest: digestInName(name) });
      layers.push({ mediaType: layerMediaType(await blobCompression(store, blob.digest)), ...blob });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
      layers,
    };
    const m = await storeJson(store, lease, manifest);
    const tags = [...(e.RepoTags ?? []), ...(opts.tags ?? [])];
    images.push({ id: await store.commitImage(m.digest, tags, lease), tags: tags.map(familiar) });
  }
  return { format: "docker-archive", images };
}

// ------------------------------------------------------------------ OCI layout

async function ingestDescriptor(store: ImageStore, lease: Lease, archive: Archive, d: Descriptor): Promise<void> {
  await store.ingest(await archive.open(`blobs/sha256/${hexOf(d.digest)}`), lease, { digest: d.digest, size: d.size });
}

async function readDescriptorJson(store: ImageStore, lease: Lease, archive: Archive, d: Descriptor): Promise<unknown> {
  await ingestDescriptor(store, lease, archive, d);
  return store.blobJson(d.digest, d.mediaType);
}

/** Tags from a descriptor's annotations: containerd's full name, or a ref.name that is a whole reference. */
function annotatedTags(d: Descriptor, onWarning: (m: string) => void): string[] {
  const full = d.annotations?.[Annotation.imageName];
  if (full) return [full];
  const name = d.annotations?.[Annotation.refName];
  if (!name) return [];
  // A bare "latest" is only a tag: with no repository it names nothing.
  if (name.includes(":") || name.includes("/")) {
    try {
      parseRef(name);
      return [name];
    } catch {}
  }
  onWarning(`image ${d.digest} is named "${name}" in the layout, which is not a full reference: pass tags to name it`);
  return [];
}

async function importOci(
  store: ImageStore,
  lease: Lease,
  archive: Archive,
  format: ImportFormat,
  opts: ImportOptions,
): Promise<ImportResult> {
  const what = `import ${archive.name}`;
  const layout = json(await archive.read("oci-layout"), `${what}: oci-layout`) as { imageLayoutVersion?: string };
  if (layout?.imageLayoutVersion !== "1.0.0") {
    throw new HuskError(`unsupported OCI layout version ${JSON.stringify(layout?.imageLayoutVersion)}`, { what });
  }
  const index = checkIndex(json(await archive.read("index.json"), `${what}: index.json`), `${what}: index.json`);
  const images: ImportResult["images"] = [];
  for (const top of index.manifests) {
    let d = top;
    for (let depth = 0; INDEX_ACCEPT.has(d.mediaType); depth++) {
      const nested = checkIndex(await readDescriptorJson(store, lease, archive, d), `${what}: index ${d.digest}`);
      const pick = depth < 8 ? pickManifest(nested, hostPlatform()) : undefined;
      if (!pick) throw new HuskError(`index ${d.digest} has no image for ${hostPlatform().architecture}`, { what });
      d = pick;
    }
    if (!MANIFEST_ACCEPT.has(d.mediaType)) {
      store.onWarning(`${what}: skipping ${d.digest} of media type ${d.mediaType}`);
      continue;
    }
    const manifest = checkManifest(await readDescriptorJson(store, lease, archive, d), `${what}: manifest ${d.digest}`);
    await ingestDescriptor(store, lease, archive, manifest.config);
    for (const l of manifest.layers) await ingestDescriptor(store, lease, archive, l);
    const tags = [...annotatedTags(top, store.onWarning), ...(opts.tags ?? [])];
    images.push({ id: await store.commitImage(d.digest, tags, lease), tags: tags.map(familiar) });
  }
  if (images.length === 0) throw new HuskError("the layout's index.json lists no image", { what });
  return { format, images };
}

// ------------------------------------------------------------------ entry point

/** Spool a stream, decompressed, into the store's tmp/, hashing what is written. */
async function spool(
  store: ImageStore,
  source: AsyncIterable<Uint8Array>,
): Promise<{ path: string; digest: Digest; size: number }> {
  await store.ensureLayout();
  const path = store.tmpPath("import");
  const hash = createHash("sha256");
  let size = 0;
  const fh = await fsp.open(path, "wx", 0o600);
  try {
    for await (const chunk of decompress(source)) {
      hash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
    }
    // It may become a blob as it is (a rootfs tarball): on disk before it is renamed into the store.
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(path, { force: true });
    throw err;
  }
  await fh.close();
  return { path, digest: `sha256:${hash.digest("hex")}`, size };
}

function detect(archive: TarArchive): ImportFormat {
  if (archive.members.has("manifest.json")) return "docker-archive";
  if (archive.members.has("oci-layout")) return "oci-archive";
  return "rootfs";
}

/**
 * Import the image(s) in source into the store. A path may be an OCI layout directory or an
 * archive file; a stream is an archive's bytes. Returns what was imported, with its tags.
 */
export async function importImage(store: ImageStore, source: ImportSource, opts: ImportOptions = {}): Promise<ImportResult> {
  const name = typeof source === "string" ? source : "stream";
  const what = `import ${name}`;
  let spooled: { path: string; digest: Digest; size: number } | undefined;
  try {
    await store.ensureLayout();
    return await store.withLease(async (lease) => {
      let file: string;
      if (typeof source === "string") {
        const st = await fsp.stat(source).catch((err) => {
          throw fromSystemError(err, what);
        });
        if (st.isDirectory()) {
          if (opts.format && opts.format !== "oci-dir") throw new HuskError(`a directory is not a ${opts.format}`, { what });
          return importOci(store, lease, new DirArchive(source), "oci-dir", opts);
        }
        if ((await fileCompression(source)) === "none") file = source;
        else {
          spooled = await spool(store, createReadStream(source));
          file = spooled.path;
        }
      } else {
        spooled = await spool(store, source);
        file = spooled.path;
      }
      // Nothing at all came in (an empty file, a stdin with nothing redirected in): not even an empty tar.
      if ((spooled?.size ?? (await fsp.stat(file)).size) === 0)
        throw new HuskError("the input is empty, not an archive", { what });
      const archive = await TarArchive.open(file, name);
      const format = opts.format ?? detect(archive);
      if (format === "docker-archive") return importDocker(store, lease, archive, opts);
      if (format === "oci-archive" || format === "oci-dir") return importOci(store, lease, archive, format, opts);
      // A rootfs tarball is one layer as it is: the spooled file is already the blob.
      let layer: { digest: Digest; size: number };
      if (spooled) {
        await store.adoptBlob(spooled.path, spooled.digest, lease);
        layer = spooled;
        spooled = undefined;
      } else layer = await store.ingest(createReadStream(file), lease);
      const created = new Date().toISOString();
      const id = await commitLayers(store, lease, [{ ...layer, diffId: layer.digest }], {
        config: opts.config ?? { Env: [DEFAULT_PATH_ENV] },
        tags: opts.tags ?? [],
        created,
        createdBy: `husk import ${typeof source === "string" ? source : "(stream)"}`,
      });
      return { format: "rootfs" as const, images: [{ id, tags: (opts.tags ?? []).map(familiar) }] };
    });
  } catch (err) {
    throw err instanceof HuskError ? err : fromSystemError(err, what);
  } finally {
    if (spooled) await fsp.rm(spooled.path, { force: true });
  }
}
