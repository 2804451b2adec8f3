/**
 * husk export: a container's root filesystem as a tar archive (the image with the container's
 * changes and deletions), its mount points kept empty and what is mounted on them (proc, a
 * volume) left out, whether it runs or not; -o writes a file; an unknown container makes none.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine export", () => {
  let w!: EngineWorld;
  let tmp!: string;
  worldWithScratch("husk-export-", (world, scratch) => {
    w = world;
    tmp = scratch;
  });

  const names = (tar: string) => spawnSync("tar", ["-tf", tar], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);

  test("running and stopped: the same tree, changes in, mounts out", async () => {
    const script = "echo hi > /hello; rm /bin/ls; mkdir -p /data; sleep 60";
    expect(
      (await w.husk(["run", "-d", "--name", "ex", "--network", "none", "-v", `${tmp}:/data`, "busybox", "sh", "-c", script]))
        .code,
    ).toBe(0);
    await Bun.sleep(300);
    const running = join(tmp, "running.tar");
    expect((await w.husk(["export", "-o", running, "ex"])).code).toBe(0);
    expect((await w.husk(["stop", "-t", "0", "ex"])).code).toBe(0);
    const stopped = join(tmp, "stopped.tar");
    expect((await w.husk(["container", "export", "--output", stopped, "ex"])).code).toBe(0);
    for (const tar of [running, stopped]) {
      const list = names(tar);
      expect(list).toContain("hello");
      expect(list).toContain("bin/sh");
      expect(list).not.toContain("bin/ls");
      expect(list).toContain("proc/");
      expect(list.filter((n) => n.startsWith("proc/") && n !== "proc/")).toEqual([]);
      expect(list.filter((n) => n.startsWith("data/") && n !== "data/")).toEqual([]); // the volume's files stay out
      expect(spawnSync("tar", ["-xOf", tar, "hello"], { encoding: "utf8" }).stdout).toBe("hi\n");
    }
    const missing = join(tmp, "none.tar");
    expect((await w.husk(["export", "-o", missing, "nosuch"])).code).not.toBe(0);
    expect(existsSync(missing)).toBe(false);
    await w.husk(["rm", "ex"]);
  });
});
