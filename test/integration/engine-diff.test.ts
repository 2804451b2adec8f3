/**
 * `husk diff`: a container's additions, changes and deletions (overlayfs whiteouts) as docker
 * lists them, without the engine's own mount points or the container's volumes; and
 * containerChanges on crafted layers: a path an upper image layer deleted, or hid under a file,
 * counts as added when the container makes it again.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerChanges } from "../../src/engine/diff.ts";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine diff", () => {
  let w!: EngineWorld;
  let tmp!: string;
  worldWithScratch("husk-diff-", (world, scratch) => {
    w = world;
    tmp = scratch;
  });

  test("lists what the container added, changed and deleted, not its mount points or volumes", async () => {
    const script =
      "touch /tmp/x; rm /bin/ls; mkdir -p /new/deep; echo 1 > /new/deep/f; chmod 700 /home; echo v > /data/in-volume";
    const r = await w.husk(["run", "--name", "chg", "--network", "none", "-v", "vol1:/data", "busybox", "sh", "-c", script]);
    expect(r.code).toBe(0);
    const diff = await w.husk(["diff", "chg"]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toBe(
      ["C /bin", "D /bin/ls", "C /home", "A /new", "A /new/deep", "A /new/deep/f", "C /tmp", "A /tmp/x", ""].join("\n"),
    );
    expect(await w.engine.container("chg").diff()).toHaveLength(8);
    expect((await w.husk(["diff", "nosuch"])).code).not.toBe(0);
    await w.husk(["rm", "-v", "chg"]);
  });

  test("a path an image layer deleted or hid counts as added", () => {
    const base = join(tmp, "base");
    const top = join(tmp, "top");
    const upper = join(tmp, "upper");
    for (const d of [join(base, "gone"), join(base, "hidden/dir"), top, join(upper, "hidden/dir"), upper])
      mkdirSync(d, { recursive: true });
    writeFileSync(join(base, "gone/f"), "");
    writeFileSync(join(base, "hidden/dir/f"), "");
    writeFileSync(join(base, "kept"), "");
    // The top layer deletes /gone (a whiteout) and puts a file where /hidden was a directory.
    expect(spawnSync("mknod", [join(top, "gone"), "c", "0", "0"]).status).toBe(0);
    writeFileSync(join(top, "hidden"), "");
    mkdirSync(join(upper, "gone"));
    writeFileSync(join(upper, "gone/f"), "");
    writeFileSync(join(upper, "hidden/dir/f"), "");
    writeFileSync(join(upper, "kept"), "x");
    expect(containerChanges(upper, [top, base], [])).toEqual([
      { kind: "A", path: "/gone" },
      { kind: "A", path: "/gone/f" },
      { kind: "C", path: "/hidden" },
      { kind: "A", path: "/hidden/dir" },
      { kind: "A", path: "/hidden/dir/f" },
      { kind: "C", path: "/kept" },
    ]);
  });
});
