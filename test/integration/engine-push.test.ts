/**
 * husk push to a registry the test runs on 127.0.0.1 (Debian's docker-registry, htpasswd
 * auth): refused without the login; with it, the blobs and the manifest go up with the digest
 * the image has here; a second push finds every blob there; what was pushed pulls into another
 * engine and runs; skopeo (another client) reads the same manifest.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { runTool, startRegistry, type TestRegistry } from "../fixtures/registry.ts";

describeAsRoot("engine push", () => {
  let w: EngineWorld;
  let w2: EngineWorld;
  let reg: TestRegistry;
  let work: string;
  beforeAll(async () => {
    w = engineWorld();
    w2 = engineWorld();
    work = mkdtempSync(join(tmpdir(), "husk-enginepush-"));
    reg = await startRegistry(join(work, "registry"), { users: { alice: "s3cret" } });
  });
  afterAll(async () => {
    await reg?.stop();
    await w.cleanup();
    await w2.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("push needs the login; then the image goes up whole, once, and comes back down", async () => {
    expect((await w.husk(["run", "--name", "mk", "--network", "none", "busybox", "sh", "-c", "echo pushed > /proof"])).code).toBe(
      0,
    );
    const ref = `${reg.host}/team/app:1`;
    expect((await w.husk(["commit", "mk", ref])).code).toBe(0);
    const local = JSON.parse((await w.husk(["image", "inspect", ref])).stdout)[0];

    const denied = await w.husk(["push", ref]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/login|authentication/i);
    expect((await w.husk(["push", `${reg.host}/team/none:1`])).stderr).toContain("no such image");

    expect((await w.husk(["login", "-u", "alice", "--password-stdin", reg.host], { stdin: "s3cret\n" })).code).toBe(0);
    const pushed = await w.husk(["push", ref]);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr.split("\n").filter((l) => l.endsWith(": Pushed"))).toHaveLength(3); // config and two layers
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+\n$/.exec(pushed.stdout)?.[1];
    expect(digest).toBeDefined();
    await expect(w.engine.push(ref, { concurrency: 0 })).rejects.toThrow("PushOptions.concurrency");
    const again = await w.husk(["push", ref]);
    expect(again.stderr.split("\n").filter((l) => l.endsWith(": Layer already exists"))).toHaveLength(3);

    // Another client sees the same manifest; another engine pulls it and runs it.
    const raw = runTool("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", "alice:s3cret", `docker://${ref}`]);
    expect(new Bun.CryptoHasher("sha256").update(raw).digest("hex")).toBe(digest!.slice(7));
    expect((await w2.husk(["login", "-u", "alice", "--password-stdin", reg.host], { stdin: "s3cret\n" })).code).toBe(0);
    expect((await w2.husk(["pull", ref])).code).toBe(0);
    expect(JSON.parse((await w2.husk(["image", "inspect", ref])).stdout)[0].Id).toBe(local.Id);
    expect((await w2.husk(["run", "--rm", "--network", "none", ref, "cat", "/proof"])).stdout).toBe("pushed\n");
    await w.husk(["rm", "mk"]);
  });
});
