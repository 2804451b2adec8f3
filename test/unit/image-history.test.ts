import { describe, expect, test } from "bun:test";
import { imageHistory } from "../../src/image/history.ts";
import type { Digest } from "../../src/image/oci.ts";
import type { ImageInfo } from "../../src/image/store.ts";

const layer = (n: number, size: number) => ({
  diffId: `sha256:${String(n).repeat(64)}` as Digest,
  blob: "sha256:b" as Digest,
  size,
  dir: `/l/${n}`,
});

function image(history: ImageInfo["imageConfig"]["history"], sizes: number[]): ImageInfo {
  const layers = sizes.map((s, i) => layer(i + 1, s));
  return {
    id: `sha256:${"f".repeat(64)}`,
    layers,
    imageConfig: {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history,
    },
  } as unknown as ImageInfo;
}

describe("image history", () => {
  test("newest first; empty_layer entries own no layer; only the newest row names the image", () => {
    const rows = imageHistory(
      image(
        [
          { created: "t1", created_by: "ADD rootfs" },
          { created: "t2", created_by: "ENV A=1", empty_layer: true },
          { created: "t3", created_by: "RUN make", comment: "built" },
        ],
        [100, 7],
      ),
    );
    expect(rows).toEqual([
      { id: `sha256:${"f".repeat(64)}`, created: "t3", createdBy: "RUN make", size: 7, comment: "built" },
      { id: "<missing>", created: "t2", createdBy: "ENV A=1", size: 0, comment: "" },
      { id: "<missing>", created: "t1", createdBy: "ADD rootfs", size: 100, comment: "" },
    ]);
  });

  test("an image without history gets a row per layer", () => {
    const rows = imageHistory(image(undefined, [5, 6]));
    expect(rows.map((r) => [r.id === "<missing>", r.size])).toEqual([
      [false, 6],
      [true, 5],
    ]);
  });

  test("more history entries than layers: the extra ones own nothing", () => {
    const rows = imageHistory(image([{ created_by: "a" }, { created_by: "b" }], [9]));
    expect(rows.map((r) => r.size)).toEqual([0, 9]);
  });
});
