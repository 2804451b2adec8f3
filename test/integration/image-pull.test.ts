/**
 * Registry pull, all on 127.0.0.1. Debian's docker-registry (distribution 2.8) with images that
 * umoci built from a busybox rootfs and skopeo pushed: by tag and by digest, several layers,
 * zstd layers, a multi-platform OCI index, an unknown tag, htpasswd (Basic) auth with login and
 * logout. A registry written here with node:http for what that one cannot do: Bearer tokens, a
 * blob redirected to another port that must not see the Authorization header, downloads in
 * parallel, a registry that lies about digests, a download aborted or killed midway.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { AbortError, HuskError, NotFoundError } from "../../src/errors.ts";
import { login, logout } from "../../src/image/auth.ts";
import { type PullEvent, pullImage } from "../../src/image/pull.ts";
import { ImageStore } from "../../src/image/store.ts";
import { FakeRegistry, sha } from "../fixtures/fake-registry.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { have, removeDir, tempDir } from "../fixtures/image.ts";
import { buildImage, freePort, push, REGISTRY_BIN, startRegistry, type TestRegistry } from "../fixtures/registry.ts";

const tools = existsSync(REGISTRY_BIN) && have("umoci") && have("skopeo");
const missing = ["docker-registry", "umoci", "skopeo"].filter((t) => !have(t)).join(", ");

let work: string;
let n = 0;
function fresh(): { store: ImageStore; root: string; warnings: string[] } {
  const root = join(work, `root-${++n}`);
  const warnings: string[] = [];
  return { store: new ImageStore(root, { onWarning: (m) => warnings.push(m) }), root, warnings };
}
const blobs = (root: string) => readdirOrEmpty(join(root, "images/blobs/sha256"));
const tmpFiles = (root: string) => readdirOrEmpty(join(root, "images/tmp"));
function readdirOrEmpty(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
const hex = (d: string) => d.slice("sha256:".length);

describeAsRoot("image pull", () => {
  beforeAll(() => {
    work = tempDir("pull");
  });
  afterAll(() => removeDir(work));

  describe.skipIf(!tools)(tools ? "from docker-registry" : `from docker-registry (skipped: ${missing} not installed)`, () => {
    let reg: TestRegistry;
    const layout = () => join(work, "layout");

    beforeAll(async () => {
      reg = await startRegistry(join(work, "registry"));
      // busybox and three layers of 256 KiB of random bytes each.
      buildImage(work, layout(), "multi", [
        { name: "one", bytes: 256 << 10 },
        { name: "two", bytes: 256 << 10 },
        { name: "three", bytes: 256 << 10 },
      ]);
      push(`oci:${layout()}:multi`, `docker://${reg.host}/ns/bb:1`);
      // An index of the amd64 image and an arm64/v8 one (another config over the same layers).
      const index = JSON.parse(readFileSync(join(layout(), "index.json"), "utf8"));
      const amd = index.manifests.find(
        (m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === "multi",
      );
      const blob = (d: string) => join(layout(), "blobs/sha256", hex(d));
      const write = (value: unknown) => {
        const data = Buffer.from(JSON.stringify(value));
        writeFileSync(blob(sha(data)), data);
        return { digest: sha(data), size: data.length };
      };
      const manifest = JSON.parse(readFileSync(blob(amd.digest), "utf8"));
      const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
      const armConfig = write({ ...config, architecture: "arm64", variant: "v8" });
      const arm = write({ ...manifest, config: { ...manifest.config, ...armConfig } });
      const idx = write({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { os: "linux", architecture: "amd64" } },
          { mediaType: amd.mediaType, ...arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        ],
      });
      index.manifests.push({
        mediaType: "application/vnd.oci.image.index.v1+json",
        ...idx,
        annotations: { "org.opencontainers.image.ref.name": "index" },
      });
      // The same image with zstd layers (skopeo 1.9 pushes layers as they are).
      const zstd = write({
        ...manifest,
        layers: manifest.layers.map((l: { digest: string }) => {
          const data = zlib.zstdCompressSync(zlib.gunzipSync(readFileSync(blob(l.digest))));
          writeFileSync(blob(sha(data)), data);
          return { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: sha(data), size: data.length };
        }),
      });
      index.manifests.push({ mediaType: amd.mediaType, ...zstd, annotations: { "org.opencontainers.image.ref.name": "zstd" } });
      writeFileSync(join(layout(), "index.json"), JSON.stringify(index));
      push(`oci:${layout()}:index`, `docker://${reg.host}/multiarch:1`, { all: true });
      push(`oci:${layout()}:zstd`, `docker://${reg.host}/bbz:1`);
    });
    afterAll(async () => {
      await reg?.stop();
    });

    test("by tag: four layers, progress for each, busybox at the bottom; again: everything already there", async () => {
      const { store } = fresh();
      const events: PullEvent[] = [];
      const r = await pullImage(store, `${reg.host}/ns/bb:1`, { onProgress: (e) => events.push(e) });
      expect(r.tags).toEqual([`${reg.host}/ns/bb:1`]);
      expect(r.digest).toBe(r.manifest);
      const info = await store.inspect(`${reg.host}/ns/bb:1`);
      expect(info.id).toBe(r.id);
      expect(info.digest).toBe(r.digest);
      expect(info.layers.length).toBe(4);
      expect(info.config.Cmd).toEqual(["sh"]);
      const top = info.layers[3]!.dir;
      expect(statSync(join(top, "three")).size).toBe(256 << 10);
      expect(existsSync(join(info.layers[0]!.dir, "bin/busybox"))).toBe(true);
      const resolved = events.find((e) => e.type === "resolved");
      expect(resolved).toMatchObject({ type: "resolved", digest: r.manifest });
      for (const l of info.manifest.layers) {
        const mine = events.flatMap((e) => (e.type === "layer" && e.digest === l.digest ? [e.status] : []));
        expect(mine[0]).toBe("waiting");
        expect(mine.slice(-3)).toEqual(["downloaded", "extracting", "done"]);
      }
      expect(events.at(-1)).toMatchObject({ type: "done", id: r.id });

      const again: PullEvent[] = [];
      const r2 = await pullImage(store, `${reg.host}/ns/bb:1`, { onProgress: (e) => again.push(e) });
      expect(r2).toEqual(r);
      const statuses = again.flatMap((e) => (e.type === "layer" ? [e.status] : []));
      expect(statuses.filter((s) => s === "exists").length).toBe(4);
      expect(statuses).not.toContain("downloading");
      expect(statuses).not.toContain("extracting");
    });

    test("by digest: no tag; found by name@digest", async () => {
      const { store } = fresh();
      const { digest } = await pullImage(fresh().store, `${reg.host}/ns/bb:1`);
      const r = await pullImage(store, `${reg.host}/ns/bb@${digest}`);
      expect(r.tags).toEqual([]);
      expect(r.digest).toBe(digest);
      expect((await store.inspect(`${reg.host}/ns/bb@${digest}`)).id).toBe(r.id);
    });

    test("zstd layers", async () => {
      const { store } = fresh();
      const r = await pullImage(store, `${reg.host}/bbz:1`);
      const info = await store.inspect(r.id);
      expect(info.manifest.layers.map((l) => l.mediaType)).toEqual(Array(4).fill("application/vnd.oci.image.layer.v1.tar+zstd"));
      expect(statSync(join(info.layers[2]!.dir, "two")).size).toBe(256 << 10);
    });

    test("a multi-platform index: this machine's image, another by platform, and the list when none fits", async () => {
      const { store, warnings } = fresh();
      const r = await pullImage(store, `${reg.host}/multiarch:1`);
      expect(r.platform).toBe("linux/amd64");
      expect(r.digest).not.toBe(r.manifest);
      expect((await store.inspect(r.id)).architecture).toBe("amd64");
      const arm = await pullImage(store, `${reg.host}/multiarch:1`, { platform: "linux/arm64" });
      expect(arm.platform).toBe("linux/arm64/v8");
      expect(arm.digest).toBe(r.digest);
      expect(arm.id).not.toBe(r.id);
      expect((await store.inspect(arm.id)).architecture).toBe("arm64");
      expect(warnings.join("\n")).toContain("is for arm64");
      await expect(pullImage(store, `${reg.host}/multiarch:1`, { platform: "linux/s390x" })).rejects.toThrow(
        `pull ${reg.host}/multiarch:1: no image for linux/s390x in the index (it has linux/amd64, linux/arm64/v8)`,
      );
    });

    test("an unknown tag or repository is a NotFoundError naming the reference", async () => {
      const { store, root } = fresh();
      for (const ref of [`${reg.host}/ns/bb:nope`, `${reg.host}/nothing/here:1`]) {
        const err = await pullImage(store, ref).catch((e) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect(err.message).toStartWith(`pull ${ref}: not found in the registry`);
      }
      expect(blobs(root)).toEqual([]);
    });

    describe("htpasswd (Basic) auth", () => {
      let auth: TestRegistry;
      beforeAll(async () => {
        auth = await startRegistry(join(work, "registry-auth"), { users: { alice: "s3cret" } });
        push(`oci:${layout()}:multi`, `docker://${auth.host}/private:1`, { creds: "alice:s3cret" });
      });
      afterAll(async () => {
        await auth?.stop();
      });

      test("no credentials, wrong ones, given ones", async () => {
        const { store } = fresh();
        await expect(pullImage(store, `${auth.host}/private:1`)).rejects.toThrow(
          `pull ${auth.host}/private:1: the registry requires authentication`,
        );
        await expect(
          pullImage(store, `${auth.host}/private:1`, { auth: { username: "alice", password: "wrong" } }),
        ).rejects.toThrow("authentication failed for alice");
        const r = await pullImage(store, `${auth.host}/private:1`, { auth: { username: "alice", password: "s3cret" } });
        expect(r.tags).toEqual([`${auth.host}/private:1`]);
      });

      test("login checks and stores (0600), pull uses the file, logout forgets", async () => {
        const { store, root } = fresh();
        const file = join(root, "auth.json");
        await expect(login(root, auth.host, "alice", "wrong")).rejects.toThrow("authentication failed for alice");
        expect(existsSync(file)).toBe(false);
        await login(root, auth.host, "alice", "s3cret");
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
          auths: { [auth.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } },
        });
        await pullImage(store, `${auth.host}/private:1`);
        expect(await logout(root, auth.host)).toBe(true);
        expect(await logout(root, auth.host)).toBe(false);
        await expect(pullImage(fresh().store, `${auth.host}/private:1`, { auth: file })).rejects.toThrow(
          "the registry requires authentication",
        );
      });
    });
  });

  describe("from a registry with Bearer tokens and blobs on another host (node:http)", () => {
    let fake: FakeRegistry;
    const layer = (name: string, data: string | Uint8Array) => [{ path: name, type: "file" as const, data }];
    beforeAll(async () => {
      fake = await new FakeRegistry().start();
    });
    afterAll(async () => {
      await fake?.stop();
    });

    test("a token for the repository's scope; the redirected blob host never sees Authorization", async () => {
      const { store } = fresh();
      const img = fake.addImage("team/app", "v1", [layer("a", "A"), layer("b", "B")], { docker: true });
      fake.blobAuth.length = 0;
      fake.tokenQueries.length = 0;
      const r = await pullImage(store, `${fake.host}/team/app:v1`);
      expect(r.manifest as string).toBe(img.digest);
      expect(fake.tokenQueries.length).toBe(1);
      expect(fake.tokenQueries[0]!.get("service")).toBe("fake-registry");
      expect(fake.tokenQueries[0]!.get("scope")).toBe("repository:team/app:pull");
      expect(fake.blobAuth.length).toBe(3); // the config and two layers
      expect(fake.blobAuth).toEqual([undefined, undefined, undefined]);
      const info = await store.inspect(r.id);
      expect(readFileSync(join(info.layers[1]!.dir, "b"), "utf8")).toBe("B");
    });

    test("a token server that wants credentials", async () => {
      fake.users = { bob: "pw" };
      try {
        fake.addImage("locked", "1", [layer("x", "x")]);
        await expect(pullImage(fresh().store, `${fake.host}/locked:1`)).rejects.toThrow(
          "the token server refused anonymous access",
        );
        await expect(
          pullImage(fresh().store, `${fake.host}/locked:1`, { auth: { username: "bob", password: "no" } }),
        ).rejects.toThrow("authentication failed for bob: the token server refused the credentials");
        await expect(pullImage(fresh().store, `${fake.host}/locked:1`, { auth: join(work, "no-such.json") })).rejects.toThrow(
          `read credentials ${join(work, "no-such.json")}: no such file or directory (ENOENT)`,
        );
        const { root } = fresh();
        await login(root, fake.host, "bob", "pw");
        await pullImage(new ImageStore(root), `${fake.host}/locked:1`);
        expect(fake.tokenQueries.at(-1)!.get("scope")).toBe("repository:locked:pull");
      } finally {
        fake.users = undefined;
      }
    });

    test("layers download `concurrency` at a time", async () => {
      const layers = Array.from({ length: 6 }, (_, i) => layer(`f${i}`, `layer ${i}`));
      fake.addImage("wide", "1", layers);
      fake.blobDelayMs = 150;
      try {
        for (const concurrency of [3, 1, 6]) {
          fake.maxInFlight = 0;
          const { store } = fresh();
          const r = await pullImage(store, `${fake.host}/wide:1`, concurrency === 3 ? {} : { concurrency });
          expect(fake.maxInFlight).toBe(concurrency);
          expect((await store.inspect(r.id)).layers.length).toBe(6);
        }
      } finally {
        fake.blobDelayMs = 0;
      }
    });

    test("a docker manifest list: the platform's manifest", async () => {
      const amd = fake.addImage("list", undefined, [layer("arch", "amd64")], { docker: true });
      const arm = fake.addImage("list", undefined, [layer("arch", "arm")], { docker: true, architecture: "arm", variant: "v7" });
      const index = fake.addIndex("list", "1", [
        { image: arm, platform: { os: "linux", architecture: "arm", variant: "v7" } },
        { image: amd, platform: { os: "linux", architecture: "amd64" } },
      ]);
      const { store } = fresh();
      const r = await pullImage(store, `${fake.host}/list:1`);
      expect(r).toMatchObject({ digest: index, manifest: amd.digest, platform: "linux/amd64" });
      const a = await pullImage(store, `${fake.host}/list@${index}`, { platform: "linux/arm/v7" });
      expect(a).toMatchObject({ digest: index, manifest: arm.digest, platform: "linux/arm/v7", tags: [] });
      expect(readFileSync(join((await store.inspect(a.id)).layers[0]!.dir, "arch"), "utf8")).toBe("arm");
    });

    test("a manifest that does not match the digest asked for is refused; nothing is stored", async () => {
      const good = fake.addImage("liar", "1", [layer("x", "good")]);
      const other = fake.addImage("liar", "2", [layer("x", "other")]);
      // The registry answers the digest of "1" with the manifest of "2".
      fake.manifests.set(`liar:${good.digest}`, fake.manifests.get(`liar:${other.digest}`)!);
      const { store, root } = fresh();
      await expect(pullImage(store, `${fake.host}/liar@${good.digest}`)).rejects.toThrow(
        `the registry sent a manifest that hashes to ${other.digest}, not to ${good.digest}: refused`,
      );
      // By tag, with a Docker-Content-Digest header that does not match the bytes.
      fake.manifests.set("liar:3", { ...fake.manifests.get("liar:1")!, digestHeader: other.digest });
      await expect(pullImage(store, `${fake.host}/liar:3`)).rejects.toThrow(
        `the registry says the manifest is ${other.digest}, but it hashes to ${good.digest}: refused`,
      );
      expect(blobs(root)).toEqual([]);
      expect(await store.list()).toEqual([]);
    });

    test("a blob that does not match its digest is refused; nothing of it is stored, no image", async () => {
      const img = fake.addImage("badblob", "1", [layer("x", "fine"), layer("y", "tampered")]);
      const bad = img.layers[1]!;
      fake.tamper.set(bad.digest, Buffer.alloc(bad.size, 7));
      try {
        const { store, root } = fresh();
        const err = await pullImage(store, `${fake.host}/badblob:1`).catch((e) => e);
        expect(err).toBeInstanceOf(HuskError);
        expect(err.message).toContain(`blob ${bad.digest}: content does not match its digest`);
        expect(err.message).toEndWith(": refused");
        expect(blobs(root)).not.toContain(hex(bad.digest));
        expect(tmpFiles(root)).toEqual([]);
        expect(await store.list()).toEqual([]);
      } finally {
        fake.tamper.clear();
      }
    });

    test("an aborted pull keeps no partial blob; the next pull completes", async () => {
      const big = randomBytes(1 << 20); // incompressible: the stall point is inside the blob
      const img = fake.addImage("slow", "1", [layer("small", "s"), layer("big", big)]);
      const bigLayer = img.layers[1]!;
      fake.stall = { digest: bigLayer.digest, after: 100_000 };
      const { store, root } = fresh();
      try {
        const ac = new AbortController();
        const err = await pullImage(store, `${fake.host}/slow:1`, {
          signal: ac.signal,
          onProgress: (e) => e.type === "layer" && e.digest === bigLayer.digest && e.status === "downloading" && ac.abort(),
        }).catch((e) => e);
        expect(err).toBeInstanceOf(AbortError);
        expect(err.message).toBe(`pull ${fake.host}/slow:1: aborted`);
        expect(blobs(root)).not.toContain(hex(bigLayer.digest));
        expect(tmpFiles(root)).toEqual([]);
      } finally {
        fake.stall = undefined;
      }
      const r = await pullImage(store, `${fake.host}/slow:1`);
      expect(readFileSync(join((await store.inspect(r.id)).layers[1]!.dir, "big"))).toEqual(big);
    });

    test("a stalled download fails after stallMs, in one line", async () => {
      const img = fake.addImage("stall", "1", [layer("s", "some bytes that stall")]);
      fake.stall = { digest: img.layers[0]!.digest, after: 10 };
      try {
        const { store, root } = fresh();
        await expect(pullImage(store, `${fake.host}/stall:1`, { stallMs: 300 })).rejects.toThrow(
          `no data from 127.0.0.1:${fake.blobPort} for 0.3 s`,
        );
        expect(tmpFiles(root)).toEqual([]);
      } finally {
        fake.stall = undefined;
      }
    });

    test("a killed pull leaves no trusted blob; the next pull completes and prune clears the rest", async () => {
      const big = randomBytes(1 << 20);
      const img = fake.addImage("killed", "1", [layer("big", big)]);
      const bigLayer = img.layers[0]!;
      fake.stall = { digest: bigLayer.digest, after: 200_000 };
      const { store, root } = fresh();
      const child = Bun.spawn(
        [process.execPath, join(import.meta.dir, "../fixtures/pull-child.ts"), root, `${fake.host}/killed:1`],
        {
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      try {
        // Wait for the layer's bytes to reach a file under tmp/.
        const deadline = Date.now() + 20_000;
        // A small blob may pass through tmp/ and be renamed into the store between the readdir
        // and the stat: gone is not the stalled layer.
        const partial = (f: string) => (statSync(join(root, "images/tmp", f), { throwIfNoEntry: false })?.size ?? 0) > 0;
        while (!tmpFiles(root).some(partial)) {
          if (Date.now() > deadline) throw new Error(`no partial download: ${await new Response(child.stderr).text()}`);
          await Bun.sleep(20);
        }
        process.kill(child.pid, "SIGKILL");
        await child.exited;
      } finally {
        fake.stall = undefined;
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      expect(blobs(root)).not.toContain(hex(bigLayer.digest));
      expect(tmpFiles(root).length).toBeGreaterThan(0);
      const r = await pullImage(store, `${fake.host}/killed:1`);
      expect(readFileSync(join((await store.inspect(r.id)).layers[0]!.dir, "big"))).toEqual(big);
      await store.prune();
      expect(tmpFiles(root)).toEqual([]);
      expect(readdirOrEmpty(join(root, "images/leases"))).toEqual([]);
    });

    test("a registry nobody listens on: one line", async () => {
      const port = await freePort();
      const err = await pullImage(fresh().store, `127.0.0.1:${port}/x:1`).catch((e) => e);
      expect(err).toBeInstanceOf(HuskError);
      expect(err.message).toBe(`pull 127.0.0.1:${port}/x:1: cannot reach 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    });
  });
});
