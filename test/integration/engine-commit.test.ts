/**
 * husk commit: a new image of a container's image and its changes (additions, deletions as
 * whiteouts, a directory made again as opaque, by overlayfs' own marker), with its command as
 * the image's (extended attributes: engine-xattrs.test.ts); a running
 * container is paused meanwhile (and running after), or not with -p=false; and the exploit: a
 * symlink the container planted in its upper layer is committed as a symlink, never followed
 * to host files.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine commit", () => {
  let w!: EngineWorld;
  let tmp!: string;
  worldWithScratch("husk-commit-", (world, scratch) => {
    w = world;
    tmp = scratch;
  });

  const run = (image: string, script: string) => w.husk(["run", "--rm", "--network", "none", image, "sh", "-c", script]);

  test("additions, deletions and a directory made again, with the container's command", async () => {
    const script = "echo hi > /hello; rm /bin/ls; rm -rf /usr; mkdir -p /usr/new; echo n > /usr/new/f";
    expect((await w.husk(["run", "--name", "c1", "--network", "none", "busybox", "sh", "-c", script])).code).toBe(0);
    expect((await run("busybox", "ls /usr | wc -l")).stdout.trim()).not.toBe("1"); // the image's /usr has more than new/
    const c = await w.husk(["commit", "-m", "my change", "-a", "Me <me@example.test>", "c1", "example.test/committed:1"]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const seen = await run(
      "example.test/committed:1",
      "cat /hello; test -e /bin/ls && echo ls || echo no-ls; ls /usr; cat /usr/new/f",
    );
    expect(seen.stdout).toBe("hi\nno-ls\nnew\nn\n");
    const img = JSON.parse((await w.husk(["image", "inspect", "example.test/committed:1"])).stdout)[0];
    expect(img.Config.Cmd).toEqual(["sh", "-c", script]);
    expect(img.RootFS.Layers).toHaveLength(2);
    const history = (await w.husk(["history", "--format", "json", "--no-trunc", "example.test/committed:1"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(history[0].Comment).toBe("my change");
    // Its own mount points (/etc/hosts …) are not its changes.
    const layer = spawnSync(
      "sh",
      ["-c", `tar -tf "${join(w.engine.dataRoot, "images/blobs/sha256", img.RootFS.Layers[1].slice(7))}"`],
      { encoding: "utf8" },
    ).stdout;
    expect(layer).not.toContain("etc/hosts");
    expect(layer).toContain("bin/.wh.ls");
    expect(layer).toContain("usr/.wh..wh..opq");
    await w.husk(["rm", "c1"]);
  });

  test("opaque from overlayfs' marker: a directory made again is opaque, one emptied or rewritten file by file is not", async () => {
    const layerNames = async (ref: string) => {
      const img = JSON.parse((await w.husk(["image", "inspect", ref])).stdout)[0];
      const blob = join(w.engine.dataRoot, "images/blobs/sha256", img.RootFS.Layers.at(-1).slice(7));
      return spawnSync("tar", ["-tf", blob], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    };
    expect(
      (await w.husk(["run", "--name", "o1", "--network", "none", "busybox", "sh", "-c", "mkdir /data; touch /data/a /data/b"]))
        .code,
    ).toBe(0);
    expect((await w.husk(["commit", "o1", "example.test/opq:base"])).code).toBe(0);
    // Emptied one name at a time: whiteouts, and nothing hides the rest of the lower layers' /data.
    expect(
      (await w.husk(["run", "--name", "o2", "--network", "none", "example.test/opq:base", "rm", "/data/a", "/data/b"])).code,
    ).toBe(0);
    expect((await w.husk(["commit", "o2", "example.test/opq:emptied"])).code).toBe(0);
    const emptied = await layerNames("example.test/opq:emptied");
    expect(emptied).toContain("data/.wh.a");
    expect(emptied).toContain("data/.wh.b");
    expect(emptied).not.toContain("data/.wh..wh..opq");
    // Every file changed in place: all of them copied up, the directory with them, yet nothing
    // was removed, so nothing is opaque (the merged view alone cannot tell this from a remake).
    expect(
      (
        await w.husk([
          "run",
          "--name",
          "o4",
          "--network",
          "none",
          "example.test/opq:base",
          "sh",
          "-c",
          "echo 1 >> /data/a; echo 2 >> /data/b",
        ])
      ).code,
    ).toBe(0);
    expect((await w.husk(["commit", "o4", "example.test/opq:changed"])).code).toBe(0);
    const changed = await layerNames("example.test/opq:changed");
    expect(changed).toContain("data/a");
    expect(changed).not.toContain("data/.wh..wh..opq");
    // Removed and made again: overlayfs marked it opaque, and so is the layer's.
    const again = "rm -rf /data; mkdir /data; echo c > /data/c";
    expect((await w.husk(["run", "--name", "o3", "--network", "none", "example.test/opq:base", "sh", "-c", again])).code).toBe(0);
    expect((await w.husk(["commit", "o3", "example.test/opq:again"])).code).toBe(0);
    const made = await layerNames("example.test/opq:again");
    expect(made).toContain("data/.wh..wh..opq");
    expect(made.filter((n) => n.includes(".wh.") && n !== "data/.wh..wh..opq")).toEqual([]);
    expect((await run("example.test/opq:again", "ls /data")).stdout).toBe("c\n");
    expect((await run("example.test/opq:emptied", "ls /data | wc -l")).stdout.trim()).toBe("0");
    for (const c of ["o1", "o2", "o3", "o4"]) await w.husk(["rm", c]);
  });

  test("a running container: paused while read and running after; -p=false leaves it running", async () => {
    expect(
      (await w.husk(["run", "-d", "--name", "c2", "--network", "none", "busybox", "sh", "-c", "echo live > /live; sleep 60"]))
        .code,
    ).toBe(0);
    await Bun.sleep(300);
    expect((await w.husk(["commit", "c2", "example.test/live:1"])).code).toBe(0);
    expect((await w.engine.inspect("c2")).State.Status).toBe("running");
    expect((await w.husk(["commit", "-p=false", "c2", "example.test/live:2"])).code).toBe(0);
    expect((await run("example.test/live:2", "cat /live")).stdout).toBe("live\n");
    await w.husk(["rm", "-f", "c2"]);
  });

  test("exploit: a planted symlink is committed as a link, host files never read through it", async () => {
    const secret = join(tmp, "secret");
    writeFileSync(secret, "host secret\n");
    expect(
      (
        await w.husk([
          "run",
          "--name",
          "c3",
          "--network",
          "none",
          "busybox",
          "sh",
          "-c",
          `ln -s ${tmp} /evil; ln -s ${secret} /evil-file`,
        ])
      ).code,
    ).toBe(0);
    expect((await w.husk(["commit", "c3", "example.test/evil:1"])).code).toBe(0);
    const r = await run(
      "example.test/evil:1",
      `readlink /evil; readlink /evil-file; cat /evil-file 2>&1; ls ${tmp} 2>&1 | head -1`,
    );
    expect(r.stdout).not.toContain("host secret");
    expect(r.stdout.split("\n").slice(0, 2)).toEqual([tmp, secret]);
    await w.husk(["rm", "c3"]);
  });

  test("bad input: an unknown container or a malformed name makes no image", async () => {
    const before = (await w.husk(["images", "-q"])).stdout;
    expect((await w.husk(["commit", "nosuch"])).code).not.toBe(0);
    expect((await w.husk(["run", "--name", "c4", "--network", "none", "busybox", "true"])).code).toBe(0);
    const bad = await w.husk(["commit", "c4", "BAD::REF"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("invalid reference");
    expect((await w.husk(["images", "-q"])).stdout).toBe(before);
    await w.husk(["rm", "c4"]);
  });
});
