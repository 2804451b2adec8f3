/**
 * The OCI image format as husk reads and writes it: digests, descriptors, manifests, indexes,
 * image configs and their media types (image-spec v1.1), with the checks that turn a JSON blob
 * from an archive or a registry into a typed object or a one-line error. Pure: no I/O.
 */
import { HuskError } from "../errors.ts";

/** A content address. Only sha256 is accepted (what docker and every registry use). */
export type Digest = `sha256:${string}`;

const SHA256 = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === "string" && SHA256.test(s);
}

/** s as a Digest, or a HuskError saying where the bad one came from. */
export function checkDigest(s: unknown, what: string): Digest {
  if (isDigest(s)) return s;
  if (typeof s === "string" && /^[a-z0-9]+:/.test(s) && !s.startsWith("sha256:")) {
    throw new HuskError(`unsupported digest algorithm in "${s}" (only sha256)`, { what });
  }
  throw new HuskError(`not a sha256 digest: ${JSON.stringify(s)}`, { what });
}

/** The 64 hex characters of a digest. */
export function hexOf(d: Digest): string {
  return d.slice("sha256:".length);
}

/** Docker's short image id: the first 12 hex characters. */
export function shortId(d: Digest): string {
  return hexOf(d).slice(0, 12);
}

export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config (what `run` uses), in the spec's capitalised keys. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Annotation names that carry a tag in an OCI layout's index.json. */
export const Annotation = {
  refName: "org.opencontainers.image.ref.name",
  /** containerd (and docker ≥ 25) put the full reference here. */
  imageName: "io.containerd.image.name",
} as const;

const LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.dockerLayer,
  MediaType.dockerLayerGzip,
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  MediaType.dockerForeignLayer,
]);

function bad(what: string, why: string): HuskError {
  return new HuskError(why, { what });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function parseJson(text: string | Uint8Array, what: string): unknown {
  try {
    return JSON.parse(typeof text === "string" ? text : Buffer.from(text).toString("utf8"));
  } catch (err) {
    throw bad(what, `not valid JSON (${(err as Error).message})`);
  }
}

export function checkDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw bad(what, "descriptor is not an object");
  if (typeof v.mediaType !== "string") throw bad(what, "descriptor has no mediaType");
  const size = v.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad(what, "descriptor has no valid size");
  return { ...(v as object), mediaType: v.mediaType, digest: checkDigest(v.digest, what), size } as Descriptor;
}

/** A manifest, or the reason it is not one husk can use. */
export function checkManifest(v: unknown, what: string): Manifest {
  if (!isObject(v) || v.schemaVersion !== 2) throw bad(what, "not an image manifest (schemaVersion 2)");
  if (v.mediaType !== undefined && v.mediaType !== MediaType.ociManifest && v.mediaType !== MediaType.dockerManifest) {
    throw bad(what, `not an image manifest (mediaType ${String(v.mediaType)})`);
  }
  if (!Array.isArray(v.layers)) throw bad(what, "manifest has no layers list");
  const config = checkDescriptor(v.config, `${what}: config`);
  const layers = v.layers.map((l, i) => checkDescriptor(l, `${what}: layers[${i}]`));
  for (const [i, l] of layers.entries()) {
    if (!LAYER_TYPES.has(l.mediaType)) throw bad(`${what}: layers[${i}]`, `unsupported layer media type ${l.mediaType}`);
  }
  return { ...(v as object), schemaVersion: 2, config, layers } as Manifest;
}

export function checkIndex(v: unknown, what: string): Index {
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) {
    throw bad(what, "not an image index (schemaVersion 2 with manifests)");
  }
  const manifests = v.manifests.map((m, i) => checkDescriptor(m, `${what}: manifests[${i}]`));
  return { ...(v as object), schemaVersion: 2, manifests } as Index;
}

export function checkConfig(v: unknown, what: string): ImageConfig {
  if (!isObject(v)) throw bad(what, "image config is not an object");
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids)) {
    throw bad(what, "image config has no rootfs.diff_ids");
  }
  const diffIds = rootfs.diff_ids.map((d, i) => checkDigest(d, `${what}: rootfs.diff_ids[${i}]`));
  if (v.config !== undefined && v.config !== null && !isObject(v.config))
    throw bad(what, "image config's config is not an object");
  return {
    ...(v as object),
    architecture: typeof v.architecture === "string" ? v.architecture : "",
    os: typeof v.os === "string" ? v.os : "",
    rootfs: { type: "layers", diff_ids: diffIds },
  } as ImageConfig;
}

/** The OCI platform of this machine (GOARCH names, as images use). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: "amd64",
    ia32: "386",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
    mips64el: "mips64le",
    loong64: "loong64",
  };
  return { architecture: arch[process.arch] ?? process.arch, os: "linux" };
}

/** The best manifest of an index for platform: an exact match, else the first for the os/arch. */
export function pickManifest(index: Index, platform: Platform): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (m) =>
      m.mediaType === MediaType.ociManifest ||
      m.mediaType === MediaType.dockerManifest ||
      m.mediaType === MediaType.ociIndex ||
      m.mediaType === MediaType.dockerManifestList,
  );
  const fits = (m: Descriptor) =>
    !m.platform || (m.platform.os === platform.os && m.platform.architecture === platform.architecture);
  return (
    candidates.find((m) => fits(m) && (!platform.variant || m.platform?.variant === platform.variant)) ?? candidates.find(fits)
  );
}

/** The media type of a layer blob from its first bytes. */
export function layerMediaType(compression: "none" | "gzip" | "zstd"): string {
  return compression === "gzip" ? MediaType.ociLayerGzip : compression === "zstd" ? MediaType.ociLayerZstd : MediaType.ociLayer;
}
