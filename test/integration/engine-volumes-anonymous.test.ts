/**
 * Anonymous volumes, as docker makes them: `-v /path` and an image's VOLUMEs (with the image's
 * content copied up) get a volume of their own, named by 64 hex digits and marked anonymous;
 * `rm -v` and `--rm` remove them, a plain `rm` keeps them for `volume prune`; a -v or --tmpfs on
 * the same path takes the VOLUME's place.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineWorld, engineWorld, importTestImage } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine anonymous volumes", () => {
  let w: EngineWorld;
  let tmp: string;
  beforeAll(async () => {
    w = engineWorld();
    tmp = mkdtempSync(join(tmpdir(), "husk-anonvol-"));
    // An image that declares VOLUME /vol/ and ships /vol/seed.
    await importTestImage(w, tmp, "example.test/withvol:1", { Volumes: { "/vol/": {} } }, (rootfs) => {
      mkdirSync(join(rootfs, "vol"));
      writeFileSync(join(rootfs, "vol/seed"), "from-image\n");
    });
  });
  afterAll(async () => {
    await w.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  const anonymous = () =>
    w.engine.volumes.list().filter((v) => "com.docker.volume.anonymous" in v.Labels && /^[0-9a-f]{64}$/.test(v.Name));

  test("-v /path: its own volume, kept by rm, removed by rm -v and by --rm", async () => {
    expect(
      (await w.husk(["run", "--name", "a1", "--network", "none", "-v", "/data", "busybox", "sh", "-c", "echo x > /data/f"])).code,
    ).toBe(0);
    const [vol] = anonymous();
    expect(vol).toBeDefined();
    expect(w.engine.record("a1").mounts).toContainEqual(
      expect.objectContaining({ name: vol!.Name, destination: "/data", anonymous: true }),
    );
    expect(await Bun.file(join(vol!.Mountpoint, "f")).text()).toBe("x\n");
    expect((await w.husk(["rm", "a1"])).code).toBe(0);
    expect(anonymous().map((v) => v.Name)).toEqual([vol!.Name]); // plain rm keeps it
    expect((await w.husk(["volume", "prune", "-f"])).code).toBe(0);
    expect(anonymous()).toEqual([]);

    expect((await w.husk(["run", "--name", "a2", "--network", "none", "-v", "/data", "busybox", "true"])).code).toBe(0);
    expect(anonymous()).toHaveLength(1);
    expect((await w.husk(["rm", "-v", "a2"])).code).toBe(0);
    expect(anonymous()).toEqual([]);

    expect((await w.husk(["run", "--rm", "--network", "none", "-v", "/data", "busybox", "true"])).code).toBe(0);
    expect(anonymous()).toEqual([]);
    // A named volume is never removed by rm -v.
    expect((await w.husk(["run", "--name", "a3", "--network", "none", "-v", "keepme:/k", "busybox", "true"])).code).toBe(0);
    expect((await w.husk(["rm", "-v", "a3"])).code).toBe(0);
    expect(w.engine.volumes.exists("keepme")).toBe(true);
    await w.husk(["volume", "rm", "keepme"]);
  });

  test("an image's VOLUME gets an anonymous volume with the image's content, unless -v or --tmpfs takes the path", async () => {
    const seen = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "example.test/withvol:1",
      "sh",
      "-c",
      "cat /vol/seed; grep ' /vol ' /proc/mounts | wc -l",
    ]);
    expect(seen.stdout).toBe("from-image\n1\n");
    expect(anonymous()).toEqual([]); // --rm took it away
    const named = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      "mine:/vol",
      "example.test/withvol:1",
      "cat",
      "/vol/seed",
    ]);
    expect(named.stdout).toBe("from-image\n"); // the named volume got the copy-up instead
    expect(anonymous()).toEqual([]);
    const tmpfs = await w.husk(["run", "--rm", "--network", "none", "--tmpfs", "/vol", "example.test/withvol:1", "ls", "/vol"]);
    expect(tmpfs.stdout).toBe("");
    expect(anonymous()).toEqual([]);
    await w.husk(["volume", "rm", "mine"]);
  });
});
