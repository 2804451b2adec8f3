/**
 * A container's root filesystem from an image: the image's unpacked layers stacked read-only
 * under a writable upper directory of the container's own, with overlayfs. This module only
 * prepares the directories and the mount parameters; the engine mounts (it knows when, and in
 * which mount namespace). The layers hold whiteouts in overlayfs form already (layer.ts), so
 * the kernel hides what upper layers deleted.
 *
 *   <containerDir>/upper    the container's changes
 *   <containerDir>/work     overlayfs' work directory (same filesystem as upper)
 *   <containerDir>/rootfs   the mount point
 *
 * A container whose upper directory goes when it exits (--rm) is mounted `volatile`, as podman
 * mounts its --rm containers: overlayfs then never syncs the upper filesystem. Without it, the
 * kernel syncs that whole filesystem (all of the host's dirty data on it, not only the
 * container's) when the container's last process exits and its mount namespace goes.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import type { Digest } from "./oci.ts";
import type { ContainerImage, ImageStore } from "./store.ts";

export interface OverlayRootfs {
  /** The image id. */
  image: Digest;
  /** Lower directories, top layer first (overlayfs' order: the first hides the rest). */
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  /** The mount point. */
  target: string;
  /** The mount(2) data for `mount -t overlay overlay <target>`. */
  data: string;
  /** Mounted volatile (see OverlayOptions). */
  volatile: boolean;
}

export interface OverlayOptions {
  /** overlayfs' volatile (Linux 5.10): no sync of the upper filesystem, for a layer that goes with its container. */
  volatile?: boolean;
}

/** mount(2) copies at most a page of option data, terminating NUL included. */
export const MOUNT_DATA_MAX = 4095;

/**
 * overlayfs' option string. ",", ":" and "\" are separators or escapes in it, and mount(2)
 * takes at most a page: a path or a layer count it cannot carry is an error here, not an
 * EINVAL at mount time.
 */
export function overlayData(lowerdirs: string[], upperdir: string, workdir: string, opts: OverlayOptions = {}): string {
  for (const p of [...lowerdirs, upperdir, workdir]) {
    if (/[,:\\]/.test(p))
      throw new HuskError(`overlayfs cannot take a path with ",", ":" or "\\" in it: ${p}`, { what: "overlay rootfs" });
  }
  if (lowerdirs.length === 0) throw new HuskError("no lower directory", { what: "overlay rootfs" });
  const data = `lowerdir=${lowerdirs.join(":")},upperdir=${upperdir},workdir=${workdir},index=off${opts.volatile ? ",volatile" : ""}`;
  if (data.length > MOUNT_DATA_MAX) {
    throw new HuskError(`${lowerdirs.length} layers make ${data.length} bytes of mount options, more than ${MOUNT_DATA_MAX}`, {
      what: "overlay rootfs",
    });
  }
  return data;
}

/**
 * Prepare containerDir (created if missing) for the image ref names and return the overlay
 * mount parameters. An upper directory already there (a container started again) is kept.
 * The image must stay in the store while mounted: removing it is refused by the engine.
 */
export async function prepareRootfs(store: ImageStore, ref: string, containerDir: string): Promise<OverlayRootfs> {
  return overlayRootfs(await store.inspect(ref), containerDir);
}

/**
 * prepareRootfs for an image already looked up: a few mkdirs, done synchronously (each would
 * cost a trip through the thread pool, and the engine's run waits for them anyway).
 */
export function overlayRootfs(info: ContainerImage, containerDir: string, opts: OverlayOptions = {}): OverlayRootfs {
  const upperdir = join(containerDir, "upper");
  const workdir = join(containerDir, "work");
  const target = join(containerDir, "rootfs");
  mkdirSync(containerDir, { recursive: true, mode: 0o755 });
  mkdirIfMissing(upperdir);
  // A volatile mount leaves its mark in the work directory, and overlayfs refuses to mount it
  // again while the mark is there (the upper may have lost writes in a crash). Whoever mounts
  // it now knows that, or has nothing to lose: a --rm container's layer goes when it exits.
  // A work directory made just now has no mark.
  if (!mkdirIfMissing(workdir)) rmSync(join(workdir, "work", "incompat"), { recursive: true, force: true });
  mkdirIfMissing(target);
  const lowerdirs = info.layers.map((l) => l.dir).reverse();
  // overlayfs needs a lower directory: an image with no layers gets an empty one.
  if (lowerdirs.length === 0) {
    const empty = join(containerDir, "empty");
    mkdirIfMissing(empty);
    lowerdirs.push(empty);
  }
  return {
    image: info.id,
    lowerdirs,
    upperdir,
    workdir,
    target,
    data: overlayData(lowerdirs, upperdir, workdir, opts),
    volatile: !!opts.volatile,
  };
}

/** mkdir; true if this call made it, false if it was there. */
function mkdirIfMissing(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  }
}
