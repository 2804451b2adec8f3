/**
 * `husk system df`: what the engine's images, containers and volumes take on disk, as `du`
 * counts it — allocated blocks (st_blocks × 512, so sparse files count what they hold), each
 * inode once however many names or layers it has (hard links, and layers that images share).
 *
 *   Images         the image store's blobs and unpacked layers; active: used by a container;
 *                  reclaimable: what only unused images hold (a layer an used image shares stays)
 *   Containers     each container's directory (writable layer, /etc files, log); active:
 *                  running; reclaimable: the others (what `container prune` frees)
 *   Local Volumes  each volume's directory; active: named by a container; reclaimable: the others
 *   Build Cache    husk has none: zeros, as docker prints them without BuildKit
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { Engine } from "./engine.ts";

/** Inodes already counted, across calls that must not count one twice: "dev:ino". */
export type Seen = Set<string>;

/** Bytes allocated under path (a file or a tree), not crossing into other file systems; inodes in `seen` are skipped and added. */
export function du(path: string, seen: Seen = new Set()): number {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  return walk(path, st, st.dev, seen);
}

function walk(path: string, st: Stats, dev: number, seen: Seen): number {
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  let total = st.blocks * 512;
  if (!st.isDirectory() || st.dev !== dev) return total;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return total;
  }
  for (const n of names) {
    const p = join(path, n);
    try {
      const c = lstatSync(p);
      // A mount point inside (a file system of its own) is not this tree's.
      if (c.dev === dev) total += walk(p, c, dev, seen);
    } catch {}
  }
  return total;
}

/** docker's sizes (go-units' HumanSize): decimal units, 4 significant digits, "0B", "16.43kB", "1.2MB". */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/** docker's RECLAIMABLE column: "1.2MB (45%)"; a total of 0 prints the size alone. */
export function reclaimableText(reclaimable: number, total: number): string {
  const size = humanSize(reclaimable);
  return total > 0 ? `${size} (${Math.trunc((reclaimable * 100) / total)}%)` : size;
}

export interface UsageRow {
  type: "Images" | "Containers" | "Local Volumes" | "Build Cache";
  total: number;
  active: number;
  /** Bytes. */
  size: number;
  reclaimable: number;
}

export interface ImageUsage {
  id: string;
  repoTags: string[];
  created?: string;
  /** The image's own blobs and layers. */
  size: number;
  /** Of size, what another image holds too. */
  sharedSize: number;
  uniqueSize: number;
  containers: number;
}

export interface ContainerUsage {
  id: string;
  name: string;
  image: string;
  command: string;
  state: string;
  status: string;
  created: string;
  size: number;
  /** Its volumes, by name. */
  volumes: string[];
}

export interface VolumeUsage {
  name: string;
  /** Containers that name it. */
  links: number;
  size: number;
}

export interface DiskUsage {
  /** Images, Containers, Local Volumes, Build Cache: docker's rows. */
  rows: UsageRow[];
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
}

export async function df(engine: Engine): Promise<DiskUsage> {
  // Images: each image's files (its manifest, config and layer blobs, its unpacked layers).
  const store = engine.images;
  const list = await store.list();
  const filesOf = new Map<string, string[]>();
  for (const img of list) {
    try {
      const info = await store.inspect(img.id);
      const files = [store.blobPath(info.id), store.blobPath(info.digest)];
      for (const l of info.manifest.layers) files.push(store.blobPath(l.digest));
      for (const l of info.layers) files.push(join(l.dir, ".."));
      filesOf.set(img.id, files);
    } catch {
      filesOf.set(img.id, []);
    }
  }
  const holders = new Map<string, number>();
  for (const files of filesOf.values()) for (const f of new Set(files)) holders.set(f, (holders.get(f) ?? 0) + 1);
  const records = engine.list({ all: true });
  const summaries = await records;
  const users = new Map<string, number>();
  for (const c of summaries) {
    const id = engine.record(c.id).imageId;
    users.set(id, (users.get(id) ?? 0) + 1);
  }
  const all: Seen = new Set();
  const unused: Seen = new Set();
  let imagesSize = 0;
  const images: ImageUsage[] = [];
  for (const img of list) {
    const files = [...new Set(filesOf.get(img.id) ?? [])];
    let size = 0;
    let shared = 0;
    for (const f of files) {
      const own = du(f);
      size += own;
      if ((holders.get(f) ?? 0) > 1) shared += own;
      imagesSize += du(f, all);
    }
    const n = users.get(img.id) ?? 0;
    images.push({
      id: img.id,
      repoTags: img.repoTags,
      created: img.created,
      size,
      sharedSize: shared,
      uniqueSize: size - shared,
      containers: n,
    });
  }
  // Reclaimable: what removing every unused image frees — files only unused images hold.
  const usedFiles = new Set(list.filter((i) => (users.get(i.id) ?? 0) > 0).flatMap((i) => filesOf.get(i.id) ?? []));
  for (const f of usedFiles) du(f, unused); // marks what stays as seen
  let imagesReclaimable = 0;
  for (const img of list) for (const f of filesOf.get(img.id) ?? []) imagesReclaimable += du(f, unused);

  const containers: ContainerUsage[] = [];
  for (const c of summaries) {
    const rec = engine.record(c.id);
    containers.push({
      id: c.id,
      name: c.name,
      image: c.image,
      command: c.command,
      state: c.state,
      status: c.status,
      created: c.created,
      size: du(join(engine.dataRoot, "containers", c.id)),
      volumes: rec.mounts.filter((m) => m.type === "volume").map((m) => m.name ?? ""),
    });
  }
  const volumes: VolumeUsage[] = engine.volumes.list().map((v) => ({
    name: v.Name,
    links: engine.volumeUsers(v.Name).length,
    size: du(join(engine.volumes.dir, v.Name)),
  }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const rows: UsageRow[] = [
    {
      type: "Images",
      total: images.length,
      active: images.filter((i) => i.containers > 0).length,
      size: imagesSize,
      reclaimable: imagesReclaimable,
    },
    {
      type: "Containers",
      total: containers.length,
      active: containers.filter((c) => c.state === "running").length,
      size: sum(containers.map((c) => c.size)),
      reclaimable: sum(containers.filter((c) => c.state !== "running").map((c) => c.size)),
    },
    {
      type: "Local Volumes",
      total: volumes.length,
      active: volumes.filter((v) => v.links > 0).length,
      size: sum(volumes.map((v) => v.size)),
      reclaimable: sum(volumes.filter((v) => v.links === 0).map((v) => v.size)),
    },
    { type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0 },
  ];
  return { rows, images, containers, volumes };
}
