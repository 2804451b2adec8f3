/**
 * husk commit (docker commit): a new image of a container's image plus one layer of what the
 * container changed, with the container's command, environment, working directory, user and
 * labels as the image's config.
 *
 * The layer is the container's overlay upper directory in the image layer format: a whiteout
 * (a 0/0 character device) becomes a ".wh." file, and a directory the container removed and made
 * again (overlayfs marks it opaque with an xattr node:fs cannot read) gets ".wh..wh..opq" when the
 * container's merged view of it holds only what the upper directory does while the image has
 * more there: the committed image then shows exactly what the container saw. The engine's mount
 * points (/etc/hosts …, volumes) are its init layer, not the container's changes.
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
import { inImage, initLayerPaths } from "./diff.ts";
import type { Engine } from "./engine.ts";
import { Dir } from "./fdtree.ts";
import { type ContainerRecord, Records } from "./records.ts";
import { type CopyEntry, entryOf, nothing, walk, writeTar } from "./tree-copy.ts";

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
async function* layerEntries(
  upper: Dir,
  merged: Dir | undefined,
  imageHas: (path: string) => boolean,
  skip: Set<string>,
  rel: string,
): AsyncGenerator<CopyEntry> {
  for (const name of await upper.names()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    if (skip.has(`/${path}`)) continue;
    const st = await upper.lstat(name);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) {
      yield { ...entryOf(rel === "" ? `.wh.${name}` : `${rel}/.wh.${name}`, st, "file"), mode: 0o644, body: nothing };
      continue;
    }
    if (!st.isDirectory()) {
      yield* walk(upper, name, path);
      continue;
    }
    const dir = await upper.child(name);
    let view: Dir | undefined;
    try {
      view = merged ? await merged.child(name).catch(() => undefined) : undefined;
      yield { ...entryOf(path, st, "dir"), body: nothing };
      if (view && imageHas(`/${path}`)) {
        const mine = new Set((await dir.names()).filter((n) => !isWhiteoutName(n)));
        const seen = await view.names();
        // Nothing of the image's shows through here: opaque (or as good as).
        if (seen.every((n) => mine.has(n)) && seen.length === mine.size)
          yield { ...entryOf(`${path}/.wh..wh..opq`, st, "file"), mode: 0o644, body: nothing };
      }
      yield* layerEntries(dir, view, imageHas, skip, path);
    } finally {
      await dir.close();
      await view?.close();
    }
  }
}

const isWhiteoutName = (n: string) => n.startsWith(".wh.");

export async function commitContainer(engine: Engine, ref: string, options: CommitOptions = {}): Promise<Digest> {
  const o = check(options ?? {});
  const rec = engine.record(ref);
  const image = await engine.images.inspect(rec.imageId);
  const live = engine.live(rec);
  const pause = (o.pause ?? true) && live.status === "running" && !live.paused;
  if (pause) await engine.pause(rec.id);
  try {
    return await withRoot(engine, rec, `commit ${rec.name}`, async (merged) => {
      const upper = await Dir.open(new Records(engine.dataRoot).path(rec.id, "upper"), `${rec.name} (changes)`);
      try {
        const lowers = image.layers.map((l) => l.dir).reverse();
        const imageHas = (path: string) => inImage(lowers, path)?.isDirectory() === true;
        const skip = new Set(initLayerPaths(rec));
        return await engine.images.withLease(async (lease) => {
          const tar = new PassThrough();
          const writing = writeTar(layerEntries(upper, merged, imageHas, skip, ""), tar).then(
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
