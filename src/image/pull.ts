/**
 * Pulling an image from an OCI Distribution registry into the store, the way import does it:
 * under a lease, every blob through the store's verified ingest (hashed while it streams to
 * tmp/, renamed into place only when digest and size match), then commitImage. A dropped
 * connection, an abort or a killed process leaves only tmp/ files that prune removes; nothing
 * half-downloaded is ever trusted.
 *
 *   manifest (by tag or digest) ─┬─ an index: pick the platform, fetch that manifest by digest
 *                                └─ a manifest (OCI or docker schema2)
 *   config blob → diff_ids
 *   layers, `concurrency` at a time (skipping blobs the store has); each layer is unpacked as
 *   soon as it is verified, while the others download; then the image is committed and tagged.
 *
 *   const { id, digest, tags } = await pullImage(new ImageStore(root), "localhost:5000/app:1");
 */
import { createHash } from "node:crypto";
import { AbortError, HuskError, TimeoutError } from "../errors.ts";
import { credentialsFor } from "./auth.ts";
import { limiter } from "./limiter.ts";
import {
  checkDigest,
  checkIndex,
  checkManifest,
  type Descriptor,
  type Digest,
  hostPlatform,
  type Index,
  MediaType,
  type Platform,
  parseJson,
  pickManifest,
} from "./oci.ts";
import { familiarString, parseRef, refString } from "./reference.ts";
import { type Credentials, Registry } from "./registry.ts";
import type { ImageStore } from "./store.ts";

export interface PullOptions {
  /** "os/arch[/variant]" to pick from a multi-platform index. Default: this machine's (linux/amd64 here). */
  platform?: string;
  /** Plain http to a registry that is not on this machine (loopback hosts get http anyway). */
  insecure?: boolean;
  /** Credentials, or a credentials file (docker config.json shape). Default: <dataRoot>/auth.json if it has the registry. */
  auth?: Credentials | string;
  /** Progress of the manifest and each layer; see PullEvent. */
  onProgress?: (event: PullEvent) => void;
  /** Aborting ends the pull with an AbortError; what was half-downloaded is not kept. */
  signal?: AbortSignal;
  /** Layers downloaded at once. Default 3. */
  concurrency?: number;
  /** A request that gets no data for this long fails. Default 60 s. */
  stallMs?: number;
}

export interface PullResult {
  /** The image id: its config's digest. */
  id: Digest;
  /** The digest the reference resolved to in the registry (an index's, for a multi-platform image). */
  digest: Digest;
  /** The image manifest's digest (the same as digest unless the registry had an index). */
  manifest: Digest;
  /** The platform picked from an index, "os/arch[/variant]"; undefined for a single manifest. */
  platform?: string;
  /** Tags pointed at it, as docker shows them (none when pulled by digest). */
  tags: string[];
}

/** Where a layer is: its phases in order ("exists" instead of the download when the store has it). */
export type LayerStatus = "waiting" | "downloading" | "exists" | "downloaded" | "extracting" | "done";

export type PullEvent =
  /** The image is known: its manifest's digest and layers (bottom first). */
  | { type: "resolved"; ref: string; digest: Digest; platform?: string; layers: { digest: Digest; size: number }[] }
  /** A layer moved, or bytes arrived (at most every 100 ms per layer while downloading). */
  | { type: "layer"; digest: Digest; status: LayerStatus; bytes: number; total: number }
  /** The image is committed. */
  | { type: "done"; id: Digest; digest: Digest; tags: string[] };

const MANIFEST_MAX = 4 << 20;
const ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(", ");
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.ociIndex, MediaType.dockerManifestList]);
const PROGRESS_MS = 100;

/** "linux/arm64/v8", "arm64" (linux implied), with the aliases people type (x86_64, aarch64). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split("/");
  if (parts.length === 1) parts.unshift("linux");
  const [os, arch, variant, ...rest] = parts;
  if (!os || !arch || rest.length || variant === "") {
    throw new HuskError(`"${text}" is not a platform (os/arch[/variant], like linux/amd64)`, { what: "platform" });
  }
  const alias: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", i386: "386" };
  return { os, architecture: alias[arch] ?? arch, ...(variant ? { variant } : {}) };
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * The manifest of an index for a platform (an exact variant first, else the os/arch), or an
 * error listing the platforms the index has (attestation entries, unknown/unknown, left out).
 */
export function choosePlatform(index: Index, platform: Platform, what: string): Descriptor {
  const hit = pickManifest(index, platform);
  if (hit?.platform || (hit && index.manifests.length === 1)) return hit;
  const have = index.manifests
    .filter((m) => m.platform && m.platform.os !== "unknown")
    .map((m) => platformString(m.platform!))
    .filter((p, i, all) => all.indexOf(p) === i);
  throw new HuskError(
    `no image for ${platformString(platform)} in the index (it has ${have.length ? have.join(", ") : "no platforms listed"})`,
    { what },
  );
}

interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
  value: unknown;
}

/** A manifest or index by tag or digest, its bytes checked against the digest when one is known. */
async function fetchManifest(reg: Registry, reference: string, expected: Descriptor | Digest | undefined, what: string) {
  const res = await reg.get(`/v2/${reg.repo}/manifests/${reference}`, { accept: ACCEPT }, what);
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MANIFEST_MAX) {
    await res.body?.cancel();
    throw new HuskError(`the manifest is ${declared} bytes, more than the ${MANIFEST_MAX} husk reads`, { what });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > MANIFEST_MAX) throw new HuskError(`the manifest is more than the ${MANIFEST_MAX} bytes husk reads`, { what });
    chunks.push(Buffer.from(chunk));
  }
  const bytes = Buffer.concat(chunks);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
  const want = typeof expected === "string" ? expected : expected?.digest;
  if (want && digest !== want) {
    throw new HuskError(`the registry sent a manifest that hashes to ${digest}, not to ${want}: refused`, { what });
  }
  if (typeof expected === "object" && expected.size !== bytes.length) {
    throw new HuskError(`the manifest is ${bytes.length} bytes where the index says ${expected.size}: refused`, { what });
  }
  const header = res.headers.get("docker-content-digest");
  if (header?.startsWith("sha256:") && header !== digest) {
    throw new HuskError(`the registry says the manifest is ${header}, but it hashes to ${digest}: refused`, { what });
  }
  const value = parseJson(bytes, `manifest ${digest}`) as { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
  if (value?.schemaVersion === 1) {
    throw new HuskError("the registry has only a schema 1 manifest for it (deprecated, not supported)", { what });
  }
  const contentType = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
  const mediaType =
    typeof value?.mediaType === "string"
      ? value.mediaType
      : Array.isArray(value?.manifests)
        ? MediaType.ociIndex
        : contentType || MediaType.ociManifest;
  return { bytes, digest, mediaType, value } satisfies FetchedManifest;
}

/**
 * Pull `reference` (name:tag or name@sha256:…; docker.io when no registry is named) into the
 * store. Returns the image id, the digest it resolved to and the tags it got. Throws a
 * NotFoundError when the registry has no such repository, tag or digest, an AbortError when
 * aborted (a TimeoutError when a download stalls), and a HuskError (one line) for refused credentials, bad content or the network.
 */
export async function pullImage(store: ImageStore, reference: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseRef(reference);
  const name = familiarString(ref);
  const what = `pull ${name}`;
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 3));
  const emit = opts.onProgress ?? (() => {});
  // One failed layer stops the others: they would only be thrown away.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const aborted = () => opts.signal?.aborted === true;
  const reg = new Registry(ref.domain, ref.path, {
    insecure: opts.insecure,
    credentials: await credentialsFor(store.dataRoot, ref.domain, opts.auth),
    signal,
    stallMs: opts.stallMs,
  });
  try {
    return await store.withLease(async (lease) => {
      const top = await fetchManifest(reg, ref.digest ?? ref.tag!, ref.digest as Digest | undefined, what);
      let image = top;
      let picked: string | undefined;
      if (INDEX_TYPES.has(top.mediaType)) {
        const index = checkIndex(top.value, `${what}: index ${top.digest}`);
        const d = choosePlatform(index, platform, what);
        picked = d.platform ? platformString(d.platform) : undefined;
        if (INDEX_TYPES.has(d.mediaType))
          throw new HuskError(`the index for ${picked} is itself an index: not supported`, { what });
        image = await fetchManifest(reg, d.digest, d, what);
        if (INDEX_TYPES.has(image.mediaType)) throw new HuskError("an index where a manifest was expected", { what });
      }
      const manifest = checkManifest(image.value, `${what}: manifest ${image.digest}`);
      // The index itself is not kept: the store records images by their manifest.
      await store.ingestBytes(image.bytes, lease, { digest: image.digest, size: image.bytes.length });

      const blob = async (d: Descriptor, onBytes?: (n: number) => void) => {
        if (await store.hasBlob(d.digest)) {
          await lease.add(d.digest);
          return false;
        }
        const bwhat = `${what}: blob ${d.digest}`;
        const res = await reg.get(`/v2/${reg.repo}/blobs/${d.digest}`, {}, bwhat);
        const body = res.body ?? new ReadableStream<Uint8Array>();
        async function* counted(): AsyncGenerator<Uint8Array> {
          let n = 0;
          for await (const chunk of body) {
            n += chunk.length;
            onBytes?.(n);
            yield chunk;
          }
        }
        try {
          await store.ingest(counted(), lease, { digest: d.digest, size: d.size });
        } catch (err) {
          await body.cancel().catch(() => {});
          // The store's verification failed: say so for this pull (the store kept nothing).
          if (err instanceof HuskError && err.what?.startsWith("store blob")) {
            throw new HuskError(`${err.message.slice(err.what.length + 2)}: refused`, { what: bwhat });
          }
          throw err;
        }
        return true;
      };

      checkDigest(manifest.config.digest, `${what}: config`);
      await blob(manifest.config);
      const config = await store.imageConfig(manifest.config.digest);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw new HuskError(`the manifest has ${manifest.layers.length} layers, the config ${diffIds.length} diff_ids`, { what });
      }
      emit({
        type: "resolved",
        ref: name,
        digest: image.digest,
        platform: picked,
        layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
      });

      const download = limiter(concurrency);
      const extract = limiter(concurrency);
      const layerEvent = (d: Descriptor, status: LayerStatus, bytes: number) =>
        emit({ type: "layer", digest: d.digest, status, bytes, total: d.size });
      const fetched = new Map<Digest, Promise<void>>();
      const layer = (d: Descriptor, diffId: Digest): Promise<void> => {
        let p = fetched.get(d.digest);
        if (p) return p;
        layerEvent(d, "waiting", 0);
        p = download(async () => {
          signal.throwIfAborted();
          let last = 0;
          const got = await blob(d, (n) => {
            const now = Date.now();
            if (now - last >= PROGRESS_MS) {
              last = now;
              layerEvent(d, "downloading", n);
            }
          });
          layerEvent(d, got ? "downloaded" : "exists", d.size);
        }).then(() =>
          extract(async () => {
            signal.throwIfAborted();
            if (!(await store.layer(diffId))) layerEvent(d, "extracting", d.size);
            await store.unpackLayer(d.digest, diffId, lease);
            layerEvent(d, "done", d.size);
          }),
        );
        fetched.set(d.digest, p);
        return p;
      };
      const all = manifest.layers.map((d, i) =>
        layer(d, diffIds[i]!).catch((err) => {
          stop.abort();
          throw err;
        }),
      );
      // Every task ends (and cleans its tmp/ file) before the lease is released.
      const errors = (await Promise.allSettled(all)).flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      if (errors.length) {
        // The layer that failed, rather than one stopped because of it.
        throw errors.find((e) => !(e instanceof TimeoutError) && (e as Error)?.name !== "AbortError") ?? errors[0];
      }

      const tags = ref.digest ? [] : [refString({ ...ref, digest: undefined })];
      const id = await store.commitImage(image.digest, tags, lease);
      const result: PullResult = {
        id,
        digest: top.digest,
        manifest: image.digest,
        platform: picked,
        tags: tags.map((t) => familiarString(parseRef(t))),
      };
      emit({ type: "done", id, digest: result.digest, tags: result.tags });
      return result;
    });
  } catch (err) {
    if (aborted()) throw new AbortError("aborted", { what });
    if (err instanceof HuskError) throw err;
    const e = err as Error;
    throw new HuskError(e?.message ?? String(err), { what });
  }
}
