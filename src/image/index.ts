/**
 * Images for the engine and the library: a content-addressed store under <dataRoot>/images
 * (store.ts), hostile-tarball-safe layer unpacking into overlayfs form (layer.ts), import and
 * save of docker and OCI archives (import.ts, save.ts), the built-in busybox image (busybox.ts),
 * docker-style references (reference.ts), overlay rootfs parameters (rootfs.ts), and pulls from
 * OCI Distribution registries (pull.ts over registry.ts, credentials in auth.ts, progress text
 * in progress.ts).
 *
 *   const images = new ImageStore("/var/lib/husk");
 *   await ensureBusybox(images);
 *   const { data, target } = await prepareRootfs(images, "busybox", containerDir);
 */
export { AUTH_FILE, authFile, type LoginOptions, login, logout, readCredentials, registryKey } from "./auth.ts";
export { BUSYBOX_IMAGE, type BusyboxOptions, ensureBusybox } from "./busybox.ts";
export {
  DEFAULT_PATH_ENV,
  type ImportFormat,
  type ImportOptions,
  type ImportResult,
  type ImportSource,
  importImage,
} from "./import.ts";
export type { ContainerConfig, Descriptor, Digest, ImageConfig, Manifest } from "./oci.ts";
export {
  formatBytes,
  type LayerProgress,
  layerLine,
  type ProgressViewOptions,
  PullProgressView,
  progressBar,
} from "./progress.ts";
export {
  choosePlatform,
  type LayerStatus,
  type PullEvent,
  type PullOptions,
  type PullResult,
  parsePlatform,
  platformString,
  pullImage,
} from "./pull.ts";
export { familiarString, type ImageRef, normalizeRef, parseRef, refName, refString } from "./reference.ts";
export { type Challenge, type Credentials, parseChallenges, registryBase } from "./registry.ts";
export { type OverlayRootfs, overlayData, overlayRootfs, prepareRootfs } from "./rootfs.ts";
export { type SaveFormat, type SaveOptions, saveImage } from "./save.ts";
export {
  DEFAULT_DATA_ROOT,
  type ImageInfo,
  ImageStore,
  type ImageStoreOptions,
  type ImageSummary,
  type LayerInfo,
  Lease,
  type PruneResult,
  type RemoveResult,
} from "./store.ts";
