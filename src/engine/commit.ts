/**
 * husk commit (docker commit): a new image of a container's image plus one layer of what the
 * container changed, with the container's command, environment, working directory, user and
 * labels as the image's config.
 *
 * The layer is the container's overlay upper directory in the image layer format: a whiteout
 * (a 0/0 character device) becomes a ".wh." file, and a directory the container removed and made
 * again (overlayfs marks it opaque: trusted.overlay.opaque=y, or user.overlay.opaque with
 * userxattr) gets ".wh..wh..opq". Files keep their extended attributes (security.capability of a
 * setcap'd binary, ACLs …) as PAX SCHILY.xattr records, read by the helper (xattrs.ts); overlayfs'
 * own are its bookkeeping and stay out. The engine's mount points (/etc/hosts …, volumes) are its
 * init layer, not the container's changes.
 *
 * The upper directory is the container's to change: it is read through directory fds, never
 * following a symlink (tree-copy.ts), so a link it planted cannot make the layer hold host files.
 * A running container is paused while its changes are read (docker's default), unless asked not.
 */
import { PassThrough } from "node:stream";
import { HuskError } from "../errors.ts";
import { commitLayers } from "../image/import.ts";
import type { ContainerConfig, Digest, HistoryEntry } from "../image/oci.ts";
import { parseRef } from "../image/reference.ts";
import { withRoot } from "./copy.ts";
import { initLayerPaths } from "./diff.ts";
import type { Engine } from "./engine.ts";
import { Dir } from "./fdtree.ts";
import { type ContainerRecord, Records } from "./records.ts";
import { type CopyEntry, entryOf, nothing, walk, writeTar } from "./tree-copy.ts";
import { copiedXattrs, isOpaque, XattrReader } from "./xattrs.ts";

export interface CommitOptions {
  /** "repository[:tag]" for the new image (default: untagged). */
  tag?: string;
  /** A comment kept in the new layer's history entry (docker commit -m). */
  message?: string;
  /** The image's author (docker commit -a). */
  author?: string;
  /** Pause a running container while its changes are read (default true, as docker's). */
  pause?: boolean;
}

function check(o: CommitOptions): CommitOptions {
  if (o === null || typeof o !== "object") throw new HuskError("must be an object", { origin: "CommitOptions" });
  for (const k of ["tag", "message", "author"] as const)
    if (o[k] !== undefined && typeof o[k] !== "string") throw new HuskError("must be a string", { origin: `CommitOptions.${k}` });
  if (o.pause !== undefined && typeof o.pause !== "boolean")
    throw new HuskError("must be a boolean", { origin: "CommitOptions.pause" });
  if (o.tag !== undefined) {
    const r = parseRef(o.tag); // a bad reference fails here, before anything is read
    if (r.digest) throw new HuskError("a tag cannot carry a digest", { origin: "CommitOptions.tag" });
  }
  return o;
}

/** The entries of the upper directory `dir` (at `rel`), as a layer has them (see the file's comment). */
async function* layerEntries(upper: Dir, xattrs: XattrReader, skip: Set<string>, rel: string): AsyncGenerator<CopyEntry> {
  const names = (await upper.names()).filter((name) => !skip.has(`/${rel === "" ? name : `${rel}/${name}`}`));
  const attrs = await xattrs.read(upper, names);
  for (const name of names) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const st = await upper.lstat(name);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) {
      yield { ...entryOf(rel === "" ? `.wh.${name}` : `${rel}/.wh.${name}`, st, "file"), mode: 0o644, body: nothing };
      continue;
    }
    if (!st.isDirectory()) {
      yield* walk(upper, name, path, { xattrs }, attrs.get(name));
      continue;
    }
    const dir = await upper.child(name);
    try {
      yield { ...entryOf(path, st, "dir"), xattrs: copiedXattrs(attrs.get(name)), body: nothing };
      // Removed and made again: nothing of the lower layers shows through it.
      if (isOpaque(attrs.get(name))) yield { ...entryOf(`${path}/.wh..wh..opq`, st, "file"), mode: 0o644, body: nothing };
      yield* layerEntries(dir, xattrs, skip, path);
    } finally {
      await dir.close();
    }
  }
}

export async function commitContainer(engine: Engine, ref: string, options: CommitOptions = {}): Promise<Digest> {
  const o = check(options ?? {});
  const rec = engine.record(ref);
  const image = await engine.images.inspect(rec.imageId);
  const live = engine.live(rec);
  const pause = (o.pause ?? true) && live.status === "running" && !live.paused;
  if (pause) await engine.pause(rec.id);
  try {
    // withRoot holds the container still: an exited one under its lock (a start waits); the
    // root it opens is not read, the upper directory is.
    return await withRoot(engine, rec, `commit ${rec.name}`, async () => {
      const upper = await Dir.open(new Records(engine.dataRoot).path(rec.id, "upper"), `${rec.name} (changes)`);
      const xattrs = new XattrReader();
      try {
        const skip = new Set(initLayerPaths(rec));
        return await engine.images.withLease(async (lease) => {
          const tar = new PassThrough();
          const writing = writeTar(layerEntries(upper, xattrs, skip, ""), tar).then(
            () => tar.end(),
            (err) => tar.destroy(err),
          );
          const [blob] = await Promise.all([engine.images.ingest(tar, lease), writing]);
          const base = image.manifest.layers.map((l, i) => ({ digest: l.digest, size: l.size, diffId: image.layers[i]!.diffId }));
          const created = new Date().toISOString();
          const history: HistoryEntry[] = [
            ...(image.imageConfig.history ?? image.layers.map(() => ({}))),
            { created, created_by: [rec.path, ...rec.args].join(" "), ...(o.message ? { comment: o.message } : {}) },
          ];
          return commitLayers(engine.images, lease, [...base, { ...blob, diffId: blob.digest }], {
            config: configOf(rec, image.config),
            tags: o.tag ? [o.tag] : [],
            created,
            createdBy: "",
            history,
            ...(o.author ? { author: o.author } : {}),
          });
        });
      } finally {
        await xattrs.close();
        await upper.close();
      }
    });
  } finally {
    if (pause) await engine.unpause(rec.id).catch(() => {});
  }
}

/** The new image's config: the container's command and environment over its image's. */
function configOf(rec: ContainerRecord, image: ContainerConfig): ContainerConfig {
  return {
    ...image,
    Env: rec.config.env.filter((e) => !e.startsWith("HOSTNAME=")),
    Entrypoint: rec.config.entrypoint.length ? rec.config.entrypoint : undefined,
    Cmd: rec.config.cmd,
    WorkingDir: rec.config.cwd,
    User: rec.config.user,
    Labels: rec.config.labels,
  };
}
