/**
 * husk push (docker push): an image of the store to an OCI Distribution registry, under the
 * name it is tagged with there. Each blob (config, layers) is sent once: a HEAD says whether the
 * registry has it, else a monolithic upload (POST, then PUT with its digest, the bytes as the
 * store has them, read from the file as they are sent). The config goes first, alone, so that
 * its requests settle the authentication; then the layers, `concurrency` at a time (docker
 * sends up to 5); then the manifest, byte for byte as stored, so its digest is the one the
 * image has here. Authentication is pull's (a token for
 * pull,push, `husk login` credentials); plain http only to this machine or with insecure.
 */
import { openAsBlob, readFileSync } from "node:fs";
import { HuskError, NotFoundError } from "../errors.ts";
import { credentialsFor } from "./auth.ts";
import { limiter } from "./limiter.ts";
import { type Digest, MediaType } from "./oci.ts";
import { familiarString, parseRef } from "./reference.ts";
import { type Credentials, Registry } from "./registry.ts";
import type { ImageStore } from "./store.ts";

export interface PushOptions {
  /** Plain http to a registry that is not on this machine. */
  insecure?: boolean;
  /** Credentials, or a credentials file (docker config.json shape). Default: <dataRoot>/auth.json if it has the registry. */
  auth?: Credentials | string;
  /** A line's worth per blob: "Pushed", "Layer already exists", and the manifest at the end. */
  onProgress?: (event: { id: string; status: string }) => void;
  signal?: AbortSignal;
  /** A request that gets no data for this long fails. Default 60 s. */
  stallMs?: number;
  /** Layers uploaded at once. Default 3. */
  concurrency?: number;
}

export interface PushResult {
  /** The manifest's digest in the registry (as docker push prints it). */
  digest: Digest;
  /** The manifest's size in bytes. */
  size: number;
}

export async function pushImage(store: ImageStore, reference: string, opts: PushOptions = {}): Promise<PushResult> {
  const ref = parseRef(reference);
  const name = familiarString(ref);
  const what = `push ${name}`;
  if (ref.digest) throw new HuskError("push a tag, not a digest", { what });
  const concurrency = opts.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new HuskError("must be a whole number of 1 or more", { origin: "PushOptions.concurrency" });
  const image = await store.inspect(reference).catch((err) => {
    if (err instanceof HuskError && /no such image/.test(err.message))
      throw new NotFoundError(`no such image ${JSON.stringify(name)}: tag an image with that name first (husk tag)`, { what });
    throw err;
  });
  const reg = new Registry(ref.domain, ref.path, {
    insecure: opts.insecure,
    credentials: await credentialsFor(store.dataRoot, ref.domain, opts.auth),
    signal: opts.signal,
    stallMs: opts.stallMs,
    push: true,
  });
  const emit = opts.onProgress ?? (() => {});
  const manifestBytes = readFileSync(store.blobPath(image.digest));
  const pushBlob = async (b: { digest: string }) => {
    const id = b.digest.slice(7, 19);
    const head = await reg.request(`/v2/${ref.path}/blobs/${b.digest}`, { method: "HEAD" }, `${what}: blob ${id}`);
    await head.body?.cancel().catch(() => {});
    if (head.ok) {
      emit({ id, status: "Layer already exists" });
      return;
    }
    emit({ id, status: "Pushing" });
    const start = await reg.request(`/v2/${ref.path}/blobs/uploads/`, { method: "POST", body: () => "" }, `${what}: blob ${id}`);
    await start.body?.cancel().catch(() => {});
    const location = start.headers.get("location");
    if (!location) throw new HuskError("the registry gave no upload location", { what: `${what}: blob ${id}` });
    const target = new URL(location, reg.base);
    target.searchParams.set("digest", b.digest);
    const file = store.blobPath(b.digest as Digest);
    const blob = await openAsBlob(file);
    const put = await reg.request(
      target.href,
      {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
        body: () => blob,
      },
      `${what}: blob ${id}`,
    );
    await put.body?.cancel().catch(() => {});
    emit({ id, status: "Pushed" });
  };
  await pushBlob(image.manifest.config);
  const upload = limiter(concurrency);
  // Every upload ends (or fails) before push does: none goes on behind a reported failure.
  const layers = await Promise.allSettled(image.manifest.layers.map((b) => upload(() => pushBlob(b))));
  const failed = layers.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  const tag = ref.tag ?? "latest";
  const put = await reg.request(
    `/v2/${ref.path}/manifests/${tag}`,
    {
      method: "PUT",
      headers: { "content-type": image.manifest.mediaType ?? MediaType.ociManifest },
      body: () => manifestBytes,
    },
    `${what}: manifest`,
  );
  await put.body?.cancel().catch(() => {});
  const digest = (put.headers.get("docker-content-digest") ?? image.digest) as Digest;
  if (digest !== image.digest)
    throw new HuskError(`the registry stored the manifest as ${digest}, not ${image.digest}`, { what });
  return { digest, size: manifestBytes.length };
}
