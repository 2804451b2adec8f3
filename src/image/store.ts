/**
 * The image store: content-addressed blobs, unpacked layers and a tag index under
 * <dataRoot>/images, for one data root (no process-global state: two stores on two roots never
 * meet; two processes on one root coordinate through the lock and leases below).
 *
 *   images/blobs/sha256/<hex>   blobs (manifests, configs, layer tarballs as given), each
 *                               verified against its digest while written to tmp/, then renamed
 *   images/layers/<hex>/        one unpacked layer per diff_id, shared by every image that has
 *                               it: diff/ (the overlayfs lower dir) and layer.json; made in tmp/
 *                               and renamed in whole, so a half-unpacked layer never has this name
 *   images/index.json           images (config digest = image id → manifest) and tags
 *                               (normalised name:tag → image id); replaced by rename under the lock
 *   images/lock                 flock: index changes, lease additions and garbage collection
 *   images/leases/<pid>-<rand>  digests an import or pull in progress relies on, so a
 *                               concurrent prune keeps them before the image is in the index
 *   images/tmp/<pid>-<rand>…    work in progress; what a dead process left is removed by prune
 *
 * Ctrl-C or a crash at any point leaves only files under tmp/ and leases/ named by a pid that
 * no longer runs: nothing is ever trusted that was not verified and renamed into place.
 *
 * A registry puller uses the same path as import: `withLease`, `ingest` each blob with the
 * digest and size from its descriptor (skipped when already present), then `commitImage`.
 */
import { createReadStream, promises as fsp, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fromSystemError, HuskError } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import { deepFreeze } from "../oci/frozen.ts";
import { type LockReuse, lockExclusive, releaseLocks } from "../sys/index.ts";
import {
  type ContainerConfig,
  checkConfig,
  checkManifest,
  type Digest,
  hexOf,
  hostPlatform,
  type ImageConfig,
  isDigest,
  type Manifest,
  parseJson,
  shortId,
} from "./oci.ts";
import { familiarString, parseRef, refString } from "./reference.ts";

export const DEFAULT_DATA_ROOT = "/var/lib/husk";

export interface ImageStoreOptions {
  /** The native helper (flock under Node; mknod and setxattr for layers). Default: the package's. */
  helper?: string;
  /** Told about what is odd but not fatal (an image for another architecture, an ignored xattr). */
  onWarning?: (message: string) => void;
}

/** index.json. */
export interface IndexFile {
  version: 1;
  /** By image id (the config's digest). */
  images: Record<string, { manifest: Digest; added: string }>;
  /** Normalised "domain/path:tag" → image id. */
  tags: Record<string, Digest>;
}

export interface LayerInfo {
  diffId: Digest;
  /** The blob it was unpacked from. */
  blob: Digest;
  /** Bytes of file data in it. */
  size: number;
  /** The unpacked layer: an overlayfs lower directory. */
  dir: string;
}

export interface ImageSummary {
  /** The image id: its config's digest. */
  id: Digest;
  /** The manifest's digest. */
  digest: Digest;
  /** Tags as docker shows them: busybox:latest, registry.example:5000/x:1. */
  repoTags: string[];
  created?: string;
  /** Bytes of file data in its layers. */
  size: number;
}

export interface ImageInfo extends ImageSummary {
  architecture: string;
  os: string;
  /** What `run` uses: Env, Cmd, Entrypoint, WorkingDir, User … */
  config: ContainerConfig;
  imageConfig: ImageConfig;
  manifest: Manifest;
  /** Bottom layer first. */
  layers: LayerInfo[];
}

/** What a container needs of its image (ImageStore.forContainer): no manifest, no tags. */
export type ContainerImage = Pick<ImageInfo, "id" | "config" | "layers">;

export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
}

export interface PruneResult {
  /** Untagged images removed. */
  images: Digest[];
  blobs: number;
  layers: number;
  /** Bytes freed (blob files and layer data). */
  reclaimed: number;
}

const emptyIndex = (): IndexFile => ({ version: 1, images: {}, tags: {} });

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

function pidAlive(name: string): boolean {
  const pid = Number(name.split("-")[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === "EPERM";
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (errCode(err) === "ENOENT") return [];
    throw err;
  }
}

/** Write a file whole (temp, fsync, rename), so a reader sees the old or the new one, never half. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, tmpDir: string): Promise<void> {
  const tmp = join(tmpDir, `${process.pid}-${randomBytes(6).toString("hex")}-write`);
  try {
    const fh = await fsp.open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * An image by reference within an index: a full id, name:tag, name@digest (the manifest's),
 * or a unique id prefix. undefined when nothing matches.
 */
export function findImage(idx: IndexFile, ref: string): { id: Digest; tag?: string } | undefined {
  if (isDigest(ref)) {
    if (idx.images[ref]) return { id: ref };
    const byManifest = Object.entries(idx.images).find(([, e]) => e.manifest === ref);
    return byManifest ? { id: byManifest[0] as Digest } : undefined;
  }
  let parseError: unknown;
  try {
    const r = parseRef(ref);
    if (r.digest) {
      const hit = Object.entries(idx.images).find(([id, e]) => e.manifest === r.digest || id === r.digest);
      if (hit) return { id: hit[0] as Digest };
    } else {
      const key = refString(r);
      const id = idx.tags[key];
      if (id && idx.images[id]) return { id, tag: key };
    }
  } catch (err) {
    parseError = err;
  }
  const prefix = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(ref)?.[1];
  if (prefix) {
    const ids = Object.keys(idx.images).filter((id) => id.startsWith(`sha256:${prefix}`)) as Digest[];
    if (ids.length > 1) throw new HuskError(`ambiguous image id prefix (${ids.length} images match)`, { what: `image "${ref}"` });
    if (ids.length === 1) return { id: ids[0]! };
  }
  if (parseError) throw parseError;
  return undefined;
}

export class Lease {
  constructor(
    private readonly store: ImageStore,
    /** The lease file. */
    readonly path: string,
  ) {}

  /** Keep digest (a blob or a layer's diff_id) from garbage collection until release. */
  async add(digest: Digest): Promise<void> {
    await this.store.locked(() => fsp.appendFile(this.path, `${digest}\n`));
  }

  async release(): Promise<void> {
    await fsp.rm(this.path, { force: true });
  }
}

export class ImageStore {
  readonly dataRoot: string;
  /** <dataRoot>/images. */
  readonly root: string;
  readonly helper: string;
  readonly onWarning: (message: string) => void;
  private layout: Promise<void> | undefined;
  /** The store lock's in-process queue (and, under Node, a parked lock holder). */
  readonly #locks: LockReuse = {};
  /** The index as lookups last read it, and which file it was (#lookupIndex). */
  #indexSeen: { stamp: string; idx: IndexFile } | undefined;
  /** forContainer's answers by image id: what an image holds never changes (its id is its config's digest). */
  readonly #containerImages = new Map<Digest, ContainerImage>();

  constructor(dataRoot: string = DEFAULT_DATA_ROOT, opts: ImageStoreOptions = {}) {
    this.dataRoot = dataRoot;
    this.root = join(dataRoot, "images");
    this.helper = opts.helper ?? helperPath();
    this.onWarning = opts.onWarning ?? (() => {});
  }

  // ------------------------------------------------------------------ layout and locking

  private path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  blobPath(digest: Digest): string {
    return this.path("blobs", "sha256", hexOf(digest));
  }

  /** The directory of an unpacked layer (its diff/ is the overlay lower dir). */
  layerPath(diffId: Digest): string {
    return this.path("layers", hexOf(diffId));
  }

  /** A fresh name under tmp/, carrying our pid so that prune knows when it is abandoned. */
  tmpPath(what: string): string {
    return this.path("tmp", `${process.pid}-${randomBytes(6).toString("hex")}-${what}`);
  }

  /** Make the directories and the lock file (once per store object). */
  ensureLayout(): Promise<void> {
    this.layout ??= (async () => {
      await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
      for (const d of [["blobs", "sha256"], ["layers"], ["leases"], ["tmp"]]) {
        await fsp.mkdir(this.path(...d), { recursive: true, mode: 0o700 });
      }
      await (await fsp.open(this.path("lock"), "a", 0o600)).close();
    })().catch((err) => {
      this.layout = undefined;
      throw fromSystemError(err, `create the image store in ${this.root}`);
    });
    return this.layout;
  }

  /** End what the store keeps between its locks (Node: a lock holder process); see Engine.idle. */
  async idle(): Promise<void> {
    await releaseLocks(this.#locks);
  }

  /** Run fn holding the store's lock (flock on images/lock). Not reentrant. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.ensureLayout();
    const release = await lockExclusive(this.path("lock"), this.helper, this.#locks);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** A lease for the duration of fn: what it adds survives a concurrent prune. */
  async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    await this.ensureLayout();
    const lease = new Lease(this, this.path("leases", `${process.pid}-${randomBytes(6).toString("hex")}`));
    await fsp.writeFile(lease.path, "", { flag: "wx" });
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  // ------------------------------------------------------------------ blobs

  async hasBlob(digest: Digest): Promise<boolean> {
    try {
      return (await fsp.stat(this.blobPath(digest))).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Store a blob from a stream, hashing it as it is written to tmp/ and renaming it into place
   * only if it matches `expected` (digest and, if given, size): a mismatch leaves nothing. With
   * an expected digest that is already stored, the source is not read.
   */
  async ingest(
    source: AsyncIterable<Uint8Array>,
    lease: Lease,
    expected: { digest?: Digest; size?: number } = {},
  ): Promise<{ digest: Digest; size: number }> {
    const what = `store blob ${expected.digest ?? ""}`.trim();
    if (expected.digest) {
      await lease.add(expected.digest);
      if (await this.hasBlob(expected.digest)) {
        await source[Symbol.asyncIterator]().return?.();
        return { digest: expected.digest, size: (await fsp.stat(this.blobPath(expected.digest))).size };
      }
    }
    const tmp = this.tmpPath("blob");
    try {
      const hash = createHash("sha256");
      let size = 0;
      const fh = await fsp.open(tmp, "wx", 0o644);
      try {
        for await (const chunk of source) {
          size += chunk.length;
          if (expected.size !== undefined && size > expected.size) {
            throw new HuskError(`more data than the ${expected.size} bytes expected`, { what });
          }
          hash.update(chunk);
          await fh.write(chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = `sha256:${hash.digest("hex")}` as Digest;
      if (expected.size !== undefined && size !== expected.size) {
        throw new HuskError(`${size} bytes where ${expected.size} were expected`, { what });
      }
      if (expected.digest && digest !== expected.digest) {
        throw new HuskError(`content does not match its digest (it hashes to ${digest})`, { what });
      }
      if (!expected.digest) await lease.add(digest);
      await fsp.rename(tmp, this.blobPath(digest));
      return { digest, size };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err instanceof HuskError ? err : fromSystemError(err, what);
    }
  }

  /**
   * Move a file the caller wrote under tmp/ (tmpPath) into the store as the blob `digest`,
   * which the caller computed from the very bytes it wrote (an import spools an archive that way).
   */
  async adoptBlob(tmp: string, digest: Digest, lease: Lease): Promise<void> {
    await lease.add(digest);
    await fsp.rename(tmp, this.blobPath(digest));
  }

  /** ingest for bytes in memory (manifests, configs). */
  async ingestBytes(data: Uint8Array, lease: Lease, expected: { digest?: Digest; size?: number } = {}) {
    return this.ingest(
      (async function* () {
        yield data;
      })(),
      lease,
      expected,
    );
  }

  readBlob(digest: Digest): AsyncIterable<Buffer> {
    return createReadStream(this.blobPath(digest));
  }

  /**
   * A JSON blob (manifest, config). The store's small metadata files (this, the index,
   * layer.json) are read synchronously: a container's start reads four of them, and a trip
   * through the thread pool costs more than such a read (four cost ~1.2 ms of an Engine.run
   * under Node, ~0.3 under Bun, ~1 ms of a cold `husk run`).
   */
  async blobJson(digest: Digest, what: string): Promise<unknown> {
    let text: Buffer;
    try {
      text = readFileSync(this.blobPath(digest));
    } catch (err) {
      throw fromSystemError(err, `read ${what} ${digest}`);
    }
    return parseJson(text, `${what} ${digest}`);
  }

  async manifest(digest: Digest): Promise<Manifest> {
    return checkManifest(await this.blobJson(digest, "manifest"), `manifest ${digest}`);
  }

  async imageConfig(digest: Digest): Promise<ImageConfig> {
    return checkConfig(await this.blobJson(digest, "image config"), `image config ${digest}`);
  }

  // ------------------------------------------------------------------ layers

  async layer(diffId: Digest): Promise<LayerInfo | undefined> {
    try {
      const meta = JSON.parse(readFileSync(join(this.layerPath(diffId), "layer.json"), "utf8"));
      return { diffId, blob: meta.blob, size: meta.size, dir: join(this.layerPath(diffId), "diff") };
    } catch {
      return undefined;
    }
  }

  /**
   * Unpack a layer blob once per diff_id: into tmp/, checking that the uncompressed stream
   * hashes to diffId, then renamed to layers/<hex>. If another process got there first, its
   * copy is used and ours dropped.
   */
  async unpackLayer(blob: Digest, diffId: Digest, lease: Lease): Promise<LayerInfo> {
    await lease.add(diffId);
    const existing = await this.layer(diffId);
    if (existing) return existing;
    const what = `apply layer ${shortId(diffId)}`;
    const tmp = this.tmpPath("layer");
    try {
      await fsp.mkdir(join(tmp, "diff"), { recursive: true, mode: 0o755 });
      // Loaded here: only pulls and imports unpack layers.
      const [{ decompress }, { applyLayer }, { readTar }] = await Promise.all([
        import("./compression.ts"),
        import("./layer.ts"),
        import("./tar.ts"),
      ]);
      const hash = createHash("sha256");
      async function* hashed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      }
      const result = await applyLayer(readTar(hashed(decompress(this.readBlob(blob)))), join(tmp, "diff"), (m) =>
        this.onWarning(`layer ${shortId(diffId)}: ${m}`),
      );
      const got = `sha256:${hash.digest("hex")}`;
      if (got !== diffId)
        throw new HuskError(`its content hashes to ${got}, not to the diff_id the image config lists`, { what });
      await fsp.writeFile(join(tmp, "layer.json"), `${JSON.stringify({ diffId, blob, size: result.size })}\n`);
      try {
        await fsp.rename(tmp, this.layerPath(diffId));
      } catch (err) {
        if (errCode(err) !== "ENOTEMPTY" && errCode(err) !== "EEXIST") throw err;
      }
      const info = await this.layer(diffId);
      if (!info) throw new HuskError("the unpacked layer vanished", { what });
      return info;
    } catch (err) {
      if (err instanceof HuskError) throw err.what?.startsWith("apply layer") ? err : new HuskError(err.message, { what });
      throw fromSystemError(err, what);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------------ index

  async readIndex(): Promise<IndexFile> {
    return this.#readIndexNow();
  }

  /**
   * The index for a lookup, which changes nothing: the one read last while index.json is the
   * same file (inode, size, change time: every update renames a new file over it), else read
   * again. Frozen, as lookups share it; one stat instead of a read and a parse per container.
   */
  #lookupIndex(): IndexFile {
    let stamp: string;
    try {
      const st = statSync(this.path("index.json"));
      stamp = `${st.ino}:${st.size}:${st.ctimeMs}`;
    } catch (err) {
      if (errCode(err) === "ENOENT") return emptyIndex();
      throw fromSystemError(err, "read the image index");
    }
    if (this.#indexSeen?.stamp !== stamp) this.#indexSeen = { stamp, idx: deepFreeze(this.#readIndexNow()) };
    return this.#indexSeen.idx;
  }

  #readIndexNow(): IndexFile {
    let text: string;
    try {
      text = readFileSync(this.path("index.json"), "utf8");
    } catch (err) {
      if (errCode(err) === "ENOENT") return emptyIndex();
      throw fromSystemError(err, "read the image index");
    }
    const idx = parseJson(text, `image index ${this.path("index.json")}`) as IndexFile;
    if (idx?.version !== 1 || typeof idx.images !== "object" || typeof idx.tags !== "object") {
      throw new HuskError("unknown format", { what: `image index ${this.path("index.json")}` });
    }
    return idx;
  }

  /** Change the index under the lock; fn's result is returned once the new index is in place. */
  async updateIndex<T>(fn: (idx: IndexFile) => T | Promise<T>): Promise<T> {
    return this.locked(async () => {
      const idx = await this.readIndex();
      const result = await fn(idx);
      await writeFileAtomic(this.path("index.json"), `${JSON.stringify(idx, null, 2)}\n`, this.path("tmp"));
      return result;
    });
  }

  /**
   * Register an image whose manifest, config and layer blobs are in the store: unpack its
   * layers (once each) and point its tags at it. Returns the image id.
   */
  async commitImage(manifestDigest: Digest, tags: string[], lease: Lease): Promise<Digest> {
    const keys = tags.map((t) => {
      const r = parseRef(t);
      if (r.digest) throw new HuskError("a tag cannot carry a digest", { what: `tag "${t}"` });
      return refString(r);
    });
    await lease.add(manifestDigest);
    const manifest = await this.manifest(manifestDigest);
    const id = manifest.config.digest;
    await lease.add(id);
    const config = await this.imageConfig(id);
    const what = `image ${shortId(id)}`;
    if (config.os && config.os !== "linux") throw new HuskError(`an image for ${config.os}, not linux`, { what });
    const host = hostPlatform();
    if (config.architecture && config.architecture !== host.architecture) {
      this.onWarning(`image ${shortId(id)} is for ${config.architecture}, this machine is ${host.architecture}`);
    }
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new HuskError(`its manifest has ${manifest.layers.length} layers, its config ${diffIds.length} diff_ids`, { what });
    }
    for (const [i, l] of manifest.layers.entries()) {
      if (!(await this.hasBlob(l.digest))) throw new HuskError(`layer blob ${l.digest} is not in the store`, { what });
      await this.unpackLayer(l.digest, diffIds[i]!, lease);
    }
    await this.updateIndex((idx) => {
      idx.images[id] = { manifest: manifestDigest, added: idx.images[id]?.added ?? new Date().toISOString() };
      for (const k of keys) idx.tags[k] = id;
    });
    return id;
  }

  // ------------------------------------------------------------------ images

  /** The image a reference names (id, id prefix, name:tag, name@digest); HuskError if none. */
  async resolve(ref: string): Promise<Digest> {
    const hit = findImage(this.#lookupIndex(), ref);
    if (!hit) throw new HuskError("no such image", { what: `image "${ref}"` });
    return hit.id;
  }

  private repoTags(idx: IndexFile, id: Digest): string[] {
    return Object.entries(idx.tags)
      .filter(([, v]) => v === id)
      .map(([k]) => familiarString(parseRef(k)))
      .sort();
  }

  private async layersOf(id: Digest, imageConfig: ImageConfig): Promise<LayerInfo[]> {
    const layers: LayerInfo[] = [];
    for (const [i, d] of imageConfig.rootfs.diff_ids.entries()) {
      const l = await this.layer(d);
      if (!l) throw new HuskError(`layer ${d} is missing from the store`, { what: `image ${shortId(id)}` });
      layers[i] = l;
    }
    return layers;
  }

  private async describe(idx: IndexFile, id: Digest): Promise<ImageInfo> {
    const entry = idx.images[id]!;
    const [manifest, imageConfig] = await Promise.all([this.manifest(entry.manifest), this.imageConfig(id)]);
    const layers = await this.layersOf(id, imageConfig);
    return {
      id,
      digest: entry.manifest,
      repoTags: this.repoTags(idx, id),
      created: imageConfig.created,
      size: layers.reduce((n, l) => n + l.size, 0),
      architecture: imageConfig.architecture,
      os: imageConfig.os,
      config: imageConfig.config ?? {},
      imageConfig,
      manifest,
      layers,
    };
  }

  /** Every image, newest first. */
  async list(): Promise<ImageSummary[]> {
    const idx = await this.readIndex();
    const out: ImageSummary[] = [];
    for (const id of Object.keys(idx.images) as Digest[]) {
      const { digest, repoTags, created, size } = await this.describe(idx, id);
      out.push({ id, digest, repoTags, created, size });
    }
    return out.sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
  }

  async inspect(ref: string): Promise<ImageInfo> {
    const idx = await this.readIndex();
    const hit = findImage(idx, ref);
    if (!hit) throw new HuskError("no such image", { what: `image "${ref}"` });
    return this.describe(idx, hit.id);
  }

  /**
   * inspect without what a container does not use: each `run` reads no manifest and parses no
   * tag (~0.7 ms of a CLI's cold start).
   */
  async forContainer(ref: string): Promise<ContainerImage> {
    // The reference is resolved each time (tags move, images go); what the id holds is read once.
    const id = await this.resolve(ref);
    const known = this.#containerImages.get(id);
    if (known) return known;
    const imageConfig = await this.imageConfig(id);
    const image = deepFreeze({ id, config: imageConfig.config ?? {}, layers: await this.layersOf(id, imageConfig) });
    this.#containerImages.set(id, image);
    return image;
  }

  /** Point the tag `target` at the image `source` names. */
  async tag(source: string, target: string): Promise<void> {
    const r = parseRef(target);
    if (r.digest) throw new HuskError("a tag cannot carry a digest", { what: `tag "${target}"` });
    await this.updateIndex((idx) => {
      const hit = findImage(idx, source);
      if (!hit) throw new HuskError("no such image", { what: `image "${source}"` });
      idx.tags[refString(r)] = hit.id;
    });
  }

  /**
   * docker rmi: a name:tag removes that tag, and the image with its last tag; an id or digest
   * removes the image, refused while several tags name it unless force. Unreferenced layers and
   * blobs go too. Whether a container still uses the image is the caller's (the engine's) check.
   */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<RemoveResult> {
    const result: RemoveResult = { untagged: [], deleted: [] };
    await this.updateIndex((idx) => {
      const hit = findImage(idx, ref);
      if (!hit) throw new HuskError("no such image", { what: `image "${ref}"` });
      const tagsOf = () => Object.keys(idx.tags).filter((k) => idx.tags[k] === hit.id);
      let drop: string[];
      if (hit.tag) drop = [hit.tag];
      else {
        drop = tagsOf();
        if (drop.length > 1 && !opts.force) {
          const names = drop.map((k) => familiarString(parseRef(k))).join(", ");
          throw new HuskError(`it has several tags (${names}): remove them by name, or force`, {
            what: `remove image ${shortId(hit.id)}`,
          });
        }
      }
      for (const k of drop) {
        delete idx.tags[k];
        result.untagged.push(familiarString(parseRef(k)));
      }
      if (tagsOf().length === 0) {
        delete idx.images[hit.id];
        result.deleted.push(hit.id);
      }
    });
    if (result.deleted.length) await this.locked(() => this.collect());
    return result;
  }

  /** Remove untagged images (unless dangling is false), then every unreferenced layer and blob. */
  async prune(opts: { dangling?: boolean } = {}): Promise<PruneResult> {
    let images: Digest[] = [];
    if (opts.dangling !== false) {
      images = await this.updateIndex((idx) => {
        const tagged = new Set(Object.values(idx.tags));
        const dangling = (Object.keys(idx.images) as Digest[]).filter((id) => !tagged.has(id));
        for (const id of dangling) delete idx.images[id];
        return dangling;
      });
    }
    return { images, ...(await this.locked(() => this.collect())) };
  }

  /**
   * Garbage collection, with the lock held: keep what an image in the index or a live lease
   * refers to, remove the rest, and what dead processes left in tmp/ and leases/.
   */
  private async collect(): Promise<Omit<PruneResult, "images">> {
    const keep = new Set<string>();
    const idx = await this.readIndex();
    for (const [id, entry] of Object.entries(idx.images)) {
      keep.add(id).add(entry.manifest);
      try {
        for (const l of (await this.manifest(entry.manifest)).layers) keep.add(l.digest);
        for (const d of (await this.imageConfig(id as Digest)).rootfs.diff_ids) keep.add(d);
      } catch (err) {
        this.onWarning(`prune: image ${shortId(id as Digest)}: ${(err as Error).message}: keeping all layers`);
        return { blobs: 0, layers: 0, reclaimed: 0 };
      }
    }
    for (const name of await readdirOrEmpty(this.path("leases"))) {
      const file = this.path("leases", name);
      if (!pidAlive(name)) {
        await fsp.rm(file, { force: true });
        continue;
      }
      for (const d of (await fsp.readFile(file, "utf8").catch(() => "")).split("\n")) if (d) keep.add(d);
    }
    for (const name of await readdirOrEmpty(this.path("tmp"))) {
      if (!pidAlive(name)) await fsp.rm(this.path("tmp", name), { recursive: true, force: true });
    }
    const out = { blobs: 0, layers: 0, reclaimed: 0 };
    for (const hex of await readdirOrEmpty(this.path("blobs", "sha256"))) {
      if (keep.has(`sha256:${hex}`)) continue;
      const file = this.path("blobs", "sha256", hex);
      out.reclaimed += (await fsp.stat(file).catch(() => ({ size: 0 }))).size;
      await fsp.rm(file, { force: true });
      out.blobs++;
    }
    for (const hex of await readdirOrEmpty(this.path("layers"))) {
      const d = `sha256:${hex}`;
      if (keep.has(d)) continue;
      out.reclaimed += isDigest(d) ? ((await this.layer(d))?.size ?? 0) : 0;
      await fsp.rm(this.path("layers", hex), { recursive: true, force: true });
      out.layers++;
    }
    return out;
  }
}

/**
 * node:crypto when first used: a container's run reads the store but hashes nothing, and the
 * module costs Bun ~2.5 ms to load.
 */
function crypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
}

const createHash = (algorithm: string) => crypto().createHash(algorithm);
const randomBytes = (n: number) => crypto().randomBytes(n);
