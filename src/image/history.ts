/**
 * An image's history as `docker history` shows it: one row per entry of its config's history,
 * newest first, each non-empty entry owning the next layer (in diff_ids order) and its size.
 * Only the newest row names an image (the image itself); the others are "<missing>", as docker
 * prints for layers it did not build locally. An image without history gets a row per layer.
 */
import type { Digest, HistoryEntry } from "./oci.ts";
import type { ImageInfo } from "./store.ts";

export interface HistoryRow {
  /** The image id on the newest row, else "<missing>". */
  id: Digest | "<missing>";
  created: string;
  createdBy: string;
  /** Bytes of the layer the entry made (0 for an empty_layer entry). */
  size: number;
  comment: string;
}

export function imageHistory(image: ImageInfo): HistoryRow[] {
  const entries: HistoryEntry[] = image.imageConfig.history ?? image.layers.map(() => ({}));
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const e of entries) {
    const owns = e.empty_layer !== true && layer < image.layers.length;
    rows.push({
      id: "<missing>",
      created: e.created ?? "",
      createdBy: e.created_by ?? "",
      size: owns ? (image.layers[layer++]?.size ?? 0) : 0,
      comment: e.comment ?? "",
    });
  }
  rows.reverse();
  if (rows[0]) rows[0].id = image.id;
  return rows;
}
