/**
 * Volumes: named volumes keep data across containers and get the image's content on first
 * use (copy-up); bind volumes, read-only ones; a volume in use cannot be removed.
 */
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine volumes", () => {
  let w!: EngineWorld;
  let host!: string;
  worldWithScratch("husk-vol-", (world, scratch) => {
    w = world;
    host = scratch;
  });

  test("a named volume keeps data across containers; copy-up of the image's content; ls, inspect, rm", async () => {
    expect((await w.husk(["volume", "create", "data1"])).stdout).toBe("data1\n");
    const a = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      "data1:/data",
      "busybox",
      "sh",
      "-c",
      "echo kept > /data/f",
    ]);
    expect(a.code).toBe(0);
    const b = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      "data1:/data:ro",
      "busybox",
      "sh",
      "-c",
      "cat /data/f; touch /data/g || echo ro",
    ]);
    expect(b.stdout).toBe("kept\nro\n");
    // A volume made by run, over /etc: the image's files are copied in.
    const c = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      "etcvol:/etc",
      "busybox",
      "sh",
      "-c",
      "grep -c root /etc/passwd",
    ]);
    expect(c.stdout).toBe("1\n");
    const ls = await w.husk(["volume", "ls", "-q"]);
    expect(ls.stdout.split("\n").filter(Boolean).sort()).toEqual(["data1", "etcvol"]);
    const info = JSON.parse((await w.husk(["volume", "inspect", "data1"])).stdout)[0];
    expect((await w.husk(["volume", "inspect", "-f", "{{.Mountpoint}}", "data1"])).stdout).toBe(`${info.Mountpoint}\n`);
    expect((await w.husk(["volume", "ls", "--format", "{{.Name}}:{{.Driver}}"])).stdout).toContain("data1:local\n");
    expect(readFileSync(join(info.Mountpoint, "f"), "utf8")).toBe("kept\n");
    const user = (await w.husk(["run", "-d", "--network", "none", "-v", "data1:/data", "busybox", "sleep", "60"])).stdout.trim();
    const refused = await w.husk(["volume", "rm", "data1"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("in use");
    await w.husk(["rm", "-f", user]);
    expect((await w.husk(["volume", "rm", "data1", "etcvol"])).code).toBe(0);
    expect((await w.husk(["volume", "ls", "-q"])).stdout).toBe("");
  });

  test("bind volumes: read-write and read-only; what the container writes is on the host", async () => {
    writeFileSync(join(host, "in"), "from host\n");
    const r = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      `${host}:/h`,
      "-v",
      `${host}:/hro:ro`,
      "busybox",
      "sh",
      "-c",
      "cat /h/in; echo out > /h/out; echo x > /hro/y 2>/dev/null || echo ro",
    ]);
    expect(r.stdout).toBe("from host\nro\n");
    expect(readFileSync(join(host, "out"), "utf8")).toBe("out\n");
  });
});
