/**
 * The image store on disk: blobs verified while streamed (a mismatch or an interrupted stream
 * leaves nothing), the built-in busybox image built once however many ask at once (in one
 * process and in two), list/inspect/tag/remove/prune with layers shared and collected, and
 * what a killed process left behind removed by prune.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBusybox } from "../../src/image/busybox.ts";
import { commitLayers } from "../../src/image/import.ts";
import type { Digest } from "../../src/image/oci.ts";
import { ImageStore } from "../../src/image/store.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { makeTar, removeDir, streamOf, tempDir } from "../fixtures/image.ts";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

/** A dead pid: a process that has exited and been reaped. */
function deadPid(): number {
  return spawnSync("true").pid!;
}

describeAsRoot("image store", () => {
  let root: string;
  let store: ImageStore;
  let warnings: string[];

  beforeEach(() => {
    root = tempDir("store");
    warnings = [];
    store = new ImageStore(root, { onWarning: (m) => warnings.push(m) });
  });
  afterEach(() => removeDir(root));

  const ls = (...p: string[]) => readdirSync(join(root, "images", ...p)).sort();

  /** Commit a one-layer image from tar bytes, tagged. */
  async function image(tar: Buffer, tags: string[], cmd = "true"): Promise<Digest> {
    return store.withLease(async (lease) => {
      const blob = await store.ingest(streamOf(tar), lease);
      return commitLayers(store, lease, [{ ...blob, diffId: blob.digest }], {
        config: { Cmd: [cmd] },
        tags,
        created: "2024-01-01T00:00:00Z",
        createdBy: "test",
      });
    });
  }

  test("a blob is stored under its digest, verified while streamed", async () => {
    const data = Buffer.from("hello blob\n".repeat(1000));
    await store.withLease(async (lease) => {
      const got = await store.ingest(streamOf(data, 100), lease, { digest: sha(data), size: data.length });
      expect(got).toEqual({ digest: sha(data), size: data.length });
    });
    expect(readFileSync(store.blobPath(sha(data)))).toEqual(data);
    expect(ls("tmp")).toEqual([]);
  });

  test("a digest or size mismatch, or a stream that fails half way, leaves nothing", async () => {
    const data = Buffer.from("the real content");
    const other = sha(Buffer.from("something else"));
    await store.withLease(async (lease) => {
      await expect(store.ingest(streamOf(data), lease, { digest: other })).rejects.toThrow(
        `store blob ${other}: content does not match its digest (it hashes to ${sha(data)})`,
      );
      await expect(store.ingest(streamOf(data), lease, { size: 3 })).rejects.toThrow(/more data than the 3 bytes expected/);
      await expect(store.ingest(streamOf(data), lease, { size: 300 })).rejects.toThrow(/16 bytes where 300 were expected/);
      async function* broken() {
        yield data;
        throw new Error("connection reset");
      }
      await expect(store.ingest(broken(), lease, { digest: sha(data) })).rejects.toThrow(/connection reset/);
    });
    expect(ls("blobs", "sha256")).toEqual([]);
    expect(ls("tmp")).toEqual([]);
    expect(ls("leases")).toEqual([]);
  });

  test("a blob already stored is not read again", async () => {
    const data = Buffer.from("x");
    await store.withLease(async (lease) => {
      await store.ingest(streamOf(data), lease);
      let read = false;
      async function* source() {
        read = true;
        yield data;
      }
      expect((await store.ingest(source(), lease, { digest: sha(data) })).size).toBe(1);
      expect(read).toBe(false);
    });
  });

  test("busybox:latest is built on first use, once, and runs sh", async () => {
    const other = new ImageStore(root);
    const results = await Promise.all([ensureBusybox(store), ensureBusybox(store), ensureBusybox(other), ensureBusybox(other)]);
    expect(results.filter((r) => r.built).length).toBe(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(ls("layers").length).toBe(1);
    const info = await store.inspect("busybox");
    expect(info.repoTags).toEqual(["busybox:latest"]);
    expect(info.config).toEqual({
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["sh"],
    });
    expect(info.os).toBe("linux");
    const diff = info.layers[0]!.dir;
    const r = spawnSync(
      "/usr/sbin/chroot",
      [diff, "/bin/sh", "-c", "echo $((6*7)); ls -ld /tmp /root; cat /etc/passwd /etc/group"],
      {
        encoding: "utf8",
        env: { PATH: "/bin" },
      },
    );
    expect(r.stdout).toContain("42\n");
    expect(r.stdout).toMatch(/drwxrwxrwt .* \/tmp/);
    expect(r.stdout).toMatch(/drwx------ .* \/root/);
    expect(r.stdout).toContain("root:x:0:0:root:/root:/bin/sh");
    expect(r.stdout).toContain("nobody:x:65534:65534:");
    expect(r.stdout).toContain("nobody:x:65534:");
    for (const d of ["proc", "sys", "dev", "etc"]) expect(existsSync(join(diff, d))).toBe(true);
    // The same binary gives the same image: a rebuild after removal has the same id.
    await store.remove("busybox");
    expect(ls("layers")).toEqual([]);
    expect((await ensureBusybox(store)).id).toBe(results[0]!.id);
  });

  test("busybox needs a static busybox binary, and says where to get one", async () => {
    await expect(ensureBusybox(store, { binary: join(root, "none") })).rejects.toThrow(
      /build the built-in busybox image from .*none: no such file \(on Debian: apt-get install busybox-static\) \(ENOENT\)/,
    );
    await expect(ensureBusybox(store, { binary: "/bin/ls" })).rejects.toThrow(/it is dynamically linked/);
    expect(await store.list()).toEqual([]);
  });

  test("two processes building busybox at once build it once", async () => {
    const script = join(root, "build.ts");
    writeFileSync(
      script,
      `import { ImageStore } from ${JSON.stringify(join(import.meta.dir, "../../src/image/store.ts"))};
import { ensureBusybox } from ${JSON.stringify(join(import.meta.dir, "../../src/image/busybox.ts"))};
const r = await ensureBusybox(new ImageStore(${JSON.stringify(root)}));
console.log(JSON.stringify(r));`,
    );
    const run = () => Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    const procs = [run(), run()];
    const outs = await Promise.all(procs.map(async (p) => JSON.parse(await new Response(p.stdout).text())));
    expect(outs.filter((o) => o.built).length).toBe(1);
    expect(outs[0].id).toBe(outs[1].id);
  });

  test("list, inspect, tag and remove (a tag, then the image), with layers shared and collected", async () => {
    const base = makeTar([{ path: "base", type: "file", data: "b" }]);
    const a = await image(base, ["a:1"], "a");
    const b = await image(base, ["b:1"], "b"); // same layer, another config
    expect(a).not.toBe(b);
    expect(ls("layers").length).toBe(1);
    await store.tag("a:1", "registry.example:5000/ns/a:prod");
    const list = await store.list();
    expect(list.map((i) => i.repoTags).sort()).toEqual([["a:1", "registry.example:5000/ns/a:prod"], ["b:1"]]);
    expect(list.find((i) => i.id === a)).toMatchObject({ size: 1, created: "2024-01-01T00:00:00Z" });
    expect((await store.inspect(a.slice(7, 19))).id).toBe(a);

    // A tag of an image with two: only the tag goes.
    expect(await store.remove("a:1")).toEqual({ untagged: ["a:1"], deleted: [] });
    // By id with two tags: refused unless forced.
    await store.tag(b, "b:2");
    await expect(store.remove(b)).rejects.toThrow(/several tags \(b:1, b:2\): remove them by name, or force/);
    expect(await store.remove(b, { force: true })).toEqual({ untagged: ["b:1", "b:2"], deleted: [b] });
    expect(ls("layers").length).toBe(1); // still a's
    expect(await store.remove("registry.example:5000/ns/a:prod")).toEqual({
      untagged: ["registry.example:5000/ns/a:prod"],
      deleted: [a],
    });
    expect(ls("layers")).toEqual([]);
    expect(ls("blobs", "sha256")).toEqual([]);
    expect(await store.list()).toEqual([]);
    await expect(store.inspect("a:1")).rejects.toThrow('image "a:1": no such image');
    await expect(store.tag("nope", "x")).rejects.toThrow('image "nope": no such image');
    await expect(store.tag(a, `x@sha256:${"0".repeat(64)}`)).rejects.toThrow(/cannot carry a digest/);
  });

  test("prune removes dangling images and unreferenced layers and blobs", async () => {
    const one = await image(makeTar([{ path: "one", type: "file", data: "1" }]), ["x:latest"]);
    const two = await image(makeTar([{ path: "two", type: "file", data: "2" }]), ["x:latest"]); // takes the tag
    expect((await store.list()).map((i) => [i.id, i.repoTags])).toEqual(
      expect.arrayContaining([
        [one, []],
        [two, ["x:latest"]],
      ]),
    );
    const r = await store.prune();
    expect(r.images).toEqual([one]);
    expect(r.layers).toBe(1);
    expect(r.blobs).toBe(3); // its layer, config and manifest
    expect(r.reclaimed).toBeGreaterThan(0);
    expect((await store.list()).map((i) => i.id)).toEqual([two]);
    expect(ls("layers").length).toBe(1);
  });

  test("what a killed import left (tmp files, half-unpacked layers, leases) is removed by prune, a live one's is kept", async () => {
    await store.ensureLayout();
    const dead = deadPid();
    mkdirSync(join(root, "images/tmp", `${dead}-abc-layer/diff`), { recursive: true });
    writeFileSync(join(root, "images/tmp", `${dead}-abd-blob`), "partial");
    const orphanBlob = `sha256:${"e".repeat(64)}`;
    writeFileSync(join(root, "images/blobs/sha256", "e".repeat(64)), "orphan");
    writeFileSync(join(root, "images/leases", `${dead}-abe`), `${orphanBlob}\n`);
    const live = join(root, "images/tmp", `${process.pid}-abf-blob`);
    writeFileSync(live, "in progress");
    await store.withLease(async (lease) => {
      const kept = Buffer.from("leased");
      await store.ingest(streamOf(kept), lease);
      const r = await store.prune();
      expect(r.blobs).toBe(1); // the orphan, not the leased blob
      expect(ls("blobs", "sha256")).toEqual([sha(kept).slice(7)]);
    });
    expect(ls("tmp")).toEqual([`${process.pid}-abf-blob`]);
    expect(ls("leases")).toEqual([]);
  });

  test("a container's lookup follows every change to the index, made here or by another store on the same root", async () => {
    const a = await image(makeTar([{ path: "a", type: "file", data: "a" }]), ["x:1"], "a");
    const b = await image(makeTar([{ path: "b", type: "file", data: "b" }]), [], "b");
    const other = new ImageStore(root); // as another process sees the same data root
    const first = await store.forContainer("x:1");
    expect(first.id).toBe(a);
    expect(first.config.Cmd).toEqual(["a"]);
    // Shared between lookups, so no caller can change it under the next one.
    expect(Object.isFrozen(first) && Object.isFrozen(first.config) && Object.isFrozen(first.layers)).toBe(true);
    expect(await store.forContainer("x:1")).toBe(first);
    await other.tag(b, "x:1"); // the tag moves, written by the other store
    expect((await store.forContainer("x:1")).id).toBe(b);
    await other.remove("x:1"); // and goes
    await expect(store.forContainer("x:1")).rejects.toThrow('image "x:1": no such image');
    await store.tag(a, "x:2");
    expect((await other.forContainer("x:2")).config.Cmd).toEqual(["a"]);
  });

  test("many tag changes at once all land (the index changes under the lock)", async () => {
    const id = await image(makeTar([{ path: "f", type: "file", data: "f" }]), []);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.tag(id, `t:${i}`)));
    expect((await store.inspect(id)).repoTags.length).toBe(20);
    const idx = JSON.parse(readFileSync(join(root, "images/index.json"), "utf8"));
    expect(Object.keys(idx.tags).length).toBe(20);
  });

  test("a layer whose content does not hash to its diff_id is refused and leaves nothing", async () => {
    const tar = makeTar([{ path: "f", type: "file", data: "f" }]);
    await expect(
      store.withLease(async (lease) => {
        const blob = await store.ingest(streamOf(tar), lease);
        return commitLayers(store, lease, [{ ...blob, diffId: sha(Buffer.from("other")) }], {
          config: {},
          tags: ["bad:1"],
          created: "2024-01-01T00:00:00Z",
          createdBy: "test",
        });
      }),
    ).rejects.toThrow(
      /apply layer [0-9a-f]{12}: its content hashes to sha256:[0-9a-f]{64}, not to the diff_id the image config lists/,
    );
    expect(ls("layers")).toEqual([]);
    expect(ls("tmp")).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  test("a hostile layer fails the image with the entry named, and leaves no layer", async () => {
    const tar = makeTar([
      { path: "a", type: "symlink", linkname: "/etc" },
      { path: "a/passwd", type: "file", data: "x" },
    ]);
    await expect(image(tar, ["evil:1"])).rejects.toThrow(
      /apply layer [0-9a-f]{12}: tar entry "a\/passwd": its parent "a" is a symbolic link: refusing to write through it/,
    );
    expect(ls("layers")).toEqual([]);
    expect(ls("tmp")).toEqual([]);
  });
});
