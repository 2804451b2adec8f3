/**
 * `husk pull`, `login` and `logout` through the CLI against a registry the test runs on
 * 127.0.0.1 (Debian's docker-registry, with htpasswd auth), then `husk run` of what was pulled.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { buildImage, push, startRegistry, type TestRegistry } from "../fixtures/registry.ts";

describeAsRoot("engine pull", () => {
  let w: EngineWorld;
  let reg: TestRegistry;
  let work: string;
  beforeAll(async () => {
    w = engineWorld();
    work = mkdtempSync(join(tmpdir(), "husk-enginepull-"));
    reg = await startRegistry(join(work, "registry"), { users: { alice: "s3cret" } });
    const layout = join(work, "layout");
    buildImage(work, layout, "v1");
    push(`oci:${layout}:v1`, `docker://${reg.host}/tools/box:v1`, { creds: "alice:s3cret" });
  });
  afterAll(async () => {
    await reg?.stop();
    await w.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("pull needs the login; with it the image pulls and runs; logout forgets it", async () => {
    const ref = `${reg.host}/tools/box:v1`;
    const denied = await w.husk(["pull", ref]);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stderr).toMatch(/login|credentials|denied|unauthorized/i);

    const bad = await w.husk(["login", "-u", "alice", "-p", "wrong", reg.host]);
    expect(bad.code).toBe(1);
    const ok = await w.husk(["login", "-u", "alice", "--password-stdin", reg.host], { stdin: "s3cret\n" });
    expect(`${ok.code} ${ok.stdout}`).toBe("0 Login Succeeded\n");

    const pulled = await w.husk(["pull", ref]);
    expect(pulled.stderr).not.toContain("error");
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/^Digest: sha256:[0-9a-f]{64}/);
    const images = await w.husk(["images", "--format", "json"]);
    expect(images.stdout).toContain("tools/box");

    const run = await w.husk(["run", "--rm", "--network", "none", ref, "echo", "from the registry"]);
    expect(`${run.code} ${run.stdout}`).toBe("0 from the registry\n");

    expect((await w.husk(["logout", reg.host])).stdout).toBe(`Removing login credentials for ${reg.host}\n`);
    expect((await w.husk(["pull", `${reg.host}/tools/box:v1`])).code).toBe(1);
  });

  test("an image that is not there is not found; run does not pull by itself", async () => {
    const r = await w.husk(["run", "--rm", "--network", "none", `${reg.host}/tools/nothing:v1`, "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("unable to find image");
    expect(r.stderr).toContain("husk pull");
  });
});
