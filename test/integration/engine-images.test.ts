/**
 * Images through the engine's command line: list, inspect, tag, save to an archive and import
 * it into another data root (file and stdin), run the imported image, rmi refused while a
 * container uses the image, prune.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine images", () => {
  let w: EngineWorld;
  let w2: EngineWorld;
  let tmp: string;
  beforeAll(() => {
    w = engineWorld();
    w2 = engineWorld();
    tmp = mkdtempSync(join(tmpdir(), "husk-img-"));
  });
  afterAll(async () => {
    await w.cleanup();
    await w2.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("images, tag, image inspect, save, import (file and -), run the import, rmi, prune", async () => {
    expect((await w.husk(["run", "--rm", "--network", "none", "busybox", "true"])).code).toBe(0);
    const q = await w.husk(["images", "-q"]);
    expect(q.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect((await w.husk(["tag", "busybox", "example.test/tools:v1"])).code).toBe(0);
    const json = (await w.husk(["images", "--format", "json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(json.map((i) => `${i.Repository}:${i.Tag}`).sort()).toEqual(["busybox:latest", "example.test/tools:v1"]);
    const inspect = JSON.parse((await w.husk(["image", "inspect", "busybox"])).stdout)[0];
    const history = (await w.husk(["history", "--format", "json", "busybox"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(history).toHaveLength(1);
    expect(history[0].ID).toBe(inspect.Id);
    expect(history[0].CreatedBy).toContain("busybox");
    expect(inspect.Config.Cmd).toEqual(["sh"]);
    expect(inspect.RootFS.Layers).toHaveLength(1);
    const archive = join(tmp, "tools.tar");
    expect((await w.husk(["save", "-o", archive, "example.test/tools:v1"])).code).toBe(0);
    const imp = await w2.husk(["import", archive]);
    expect(imp.stdout).toBe("Loaded image: example.test/tools:v1\n");
    const run = await w2.husk(["run", "--rm", "--network", "none", "example.test/tools:v1", "echo", "imported"]);
    expect(run.stdout).toBe("imported\n");
    const viaStdin = Bun.spawn(["bin/husk", "import", "-", "again:latest"], {
      env: w2.env,
      stdin: Bun.file(archive),
      stdout: "pipe",
    });
    expect(await viaStdin.exited).toBe(0);
    expect(await new Response(viaStdin.stdout).text()).toContain("again:latest");
    // docker load's face of it: stdin or -i, quiet with -q; nothing at all on stdin is an error, not an image.
    const loaded = Bun.spawn(["bin/husk", "load"], { env: w2.env, stdin: Bun.file(archive), stdout: "pipe" });
    expect(await loaded.exited).toBe(0);
    expect(await new Response(loaded.stdout).text()).toBe("Loaded image: example.test/tools:v1\n");
    expect(await w2.husk(["image", "load", "-q", "-i", archive])).toMatchObject({ code: 0, stdout: "" });
    const before = (await w2.husk(["images", "-q"])).stdout;
    const empty = await w2.husk(["load"], { stdin: "" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("the input is empty");
    expect((await w2.husk(["images", "-q"])).stdout).toBe(before);
    // In use: refused; after rm, removed.
    const c = (await w2.husk(["run", "-d", "--network", "none", "again", "sleep", "60"])).stdout.trim();
    const refused = await w2.husk(["rmi", "-f", inspect.Id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("used by container");
    await w2.husk(["rm", "-f", c]);
    const rmi = await w2.husk(["rmi", "-f", inspect.Id]);
    expect(rmi.code).toBe(0);
    expect(rmi.stdout).toContain("Deleted:");
    expect((await w2.husk(["images", "-q"])).stdout).toBe("");
    expect((await w.husk(["image", "prune", "-f"])).code).toBe(0);
    expect((await w.husk(["image", "prune"])).code).toBe(1); // no -f and no answer on stdin: cancelled
    expect(readFileSync(archive).length).toBeGreaterThan(100000);
  });
});
