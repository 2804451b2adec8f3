/**
 * Extended attributes through husk commit and husk export: a binary given a file capability in
 * the container (security.capability, set from the host through /proc/<pid>/root as setcap
 * would: busybox has no setcap) keeps it in the committed image, where the kernel grants it to
 * a non-root user, and in the exported tar (PAX SCHILY.xattr records, binary values intact),
 * which GNU tar and husk import read back; overlayfs' own attributes never leave the upper
 * directory. The exploit: symlinks the container plants, naming host files that carry xattrs,
 * are read as links: no host file's attributes appear in the layer or the export.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Dir } from "../../src/engine/fdtree.ts";
import { XattrReader } from "../../src/engine/xattrs.ts";
import { HuskError } from "../../src/errors.ts";
import { readTar } from "../../src/image/tar.ts";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

/** security.capability, VFS_CAP_REVISION_2 with the effective bit: cap_net_raw+ep (CAP_NET_RAW is 13). */
const NET_RAW_EP = Buffer.alloc(20);
NET_RAW_EP.writeUInt32LE(0x02000001, 0);
NET_RAW_EP.writeUInt32LE(1 << 13, 4);
/** A value no text decoding would keep: NUL, a byte that is not UTF-8, a newline and "=". */
const BINARY = Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x41]);

/** lsetxattr from the host (python3 is in .ci/run's packages). */
function setxattr(path: string, name: string, value: Buffer): void {
  const script = "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)";
  const r = spawnSync("python3", ["-c", script, path, name, value.toString("hex")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`setxattr ${name} on ${path}: ${r.stderr}`);
}

/** Each entry's xattrs (names to hex values), read with husk's own tar reader. */
async function tarXattrs(file: string): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for await (const e of readTar(createReadStream(file)))
    out.set(e.path, Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString("hex")])));
  return out;
}

describeAsRoot("engine xattrs", () => {
  let w!: EngineWorld;
  let tmp!: string;
  worldWithScratch("husk-xattrs-", (world, scratch) => {
    w = world;
    tmp = scratch;
  });

  const layerOf = async (ref: string) => {
    const img = JSON.parse((await w.husk(["image", "inspect", ref])).stdout)[0];
    return join(w.engine.dataRoot, "images/blobs/sha256", img.RootFS.Layers.at(-1).slice(7));
  };
  /** What a non-root user's process gets from the file's capability (busybox as `cat`, by its name). */
  const capEff = async (image: string, cat: string) => {
    const r = await w.husk(["run", "--rm", "--network", "none", "--user", "1000", image, cat, "/proc/self/status"]);
    expect(r.code).toBe(0);
    return r.stdout.match(/^CapEff:\s*(\S+)$/m)?.[1];
  };

  /** A running container with /capbin/cat (busybox) given cap_net_raw+ep and a binary user attribute. */
  const capContainer = async (name: string) => {
    expect((await w.husk(["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"])).code).toBe(0);
    const setup = "mkdir /capbin && cp /bin/busybox /capbin/cat && rm -rf /usr && mkdir /usr";
    expect((await w.husk(["exec", name, "sh", "-c", setup])).code).toBe(0);
    const pid = (await w.husk(["inspect", "-f", "{{.State.Pid}}", name])).stdout.trim();
    setxattr(`/proc/${pid}/root/capbin/cat`, "security.capability", NET_RAW_EP);
    setxattr(`/proc/${pid}/root/capbin/cat`, "user.husk.note", BINARY);
  };

  const expectCarried = (entries: Map<string, Record<string, string>>) => {
    expect(entries.get("capbin/cat")).toEqual({
      "security.capability": NET_RAW_EP.toString("hex"),
      "user.husk.note": BINARY.toString("hex"),
    });
    // /usr was made again (overlayfs marked it opaque): its marker is no attribute of the copy.
    const overlays = [...entries].filter(([, x]) => Object.keys(x).some((k) => /^(trusted|user)\.overlay\./.test(k)));
    expect(overlays).toEqual([]);
  };

  test("commit: the capability of a setcap'd binary is in the layer and granted in the new image", async () => {
    await capContainer("x1");
    expect((await w.husk(["commit", "x1", "example.test/cap:1"])).code).toBe(0);
    const layer = await tarXattrs(await layerOf("example.test/cap:1"));
    expectCarried(layer);
    expect(layer.has("usr/.wh..wh..opq")).toBe(true);
    expect(await capEff("example.test/cap:1", "/capbin/cat")).toBe("0000000000002000");
    expect(await capEff("example.test/cap:1", "cat")).toBe("0000000000000000"); // the image's own has none
    await w.husk(["rm", "-f", "x1"]);
  });

  test("export, running and stopped: the tar carries them; GNU tar and husk import read them back", async () => {
    await capContainer("x2");
    const running = join(tmp, "running.tar");
    expect((await w.husk(["export", "-o", running, "x2"])).code).toBe(0);
    expect((await w.husk(["stop", "-t", "0", "x2"])).code).toBe(0);
    const stopped = join(tmp, "stopped.tar");
    expect((await w.husk(["export", "-o", stopped, "x2"])).code).toBe(0);
    for (const tar of [running, stopped]) expectCarried(await tarXattrs(tar));
    const out = join(tmp, "extracted");
    mkdirSync(out);
    const x = spawnSync("tar", ["--xattrs", "--xattrs-include=*", "-xf", stopped, "-C", out, "capbin/cat"], { encoding: "utf8" });
    expect(x.stderr).toBe("");
    const got = spawnSync(
      "python3",
      ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'user.husk.note').hex())", join(out, "capbin/cat")],
      { encoding: "utf8" },
    );
    expect(got.stdout.trim()).toBe(BINARY.toString("hex"));
    expect((await w.husk(["import", stopped, "example.test/exported:1"])).code).toBe(0);
    expect(await capEff("example.test/exported:1", "/capbin/cat")).toBe("0000000000002000");
    // husk cp's tar out (CONTAINER:path -) carries them too.
    const copied = join(tmp, "cp.tar");
    const cp = spawnSync("sh", ["-c", `"$0" cp x2:/capbin - > "$1"`, "bin/husk", copied], { env: w.env, encoding: "utf8" });
    expect(cp.status).toBe(0);
    expect((await tarXattrs(copied)).get("capbin/cat")).toEqual({
      "security.capability": NET_RAW_EP.toString("hex"),
      "user.husk.note": BINARY.toString("hex"),
    });
    await w.husk(["rm", "x2"]);
  });

  test("exploit: planted symlinks to host files with xattrs are read as links, the host's attributes never appear", async () => {
    const secret = join(tmp, "secret");
    const secretDir = join(tmp, "secret-dir");
    writeFileSync(secret, "host secret\n");
    mkdirSync(secretDir);
    setxattr(secret, "user.husk.secret", Buffer.from("host-xattr-secret"));
    setxattr(secretDir, "user.husk.secret", Buffer.from("host-xattr-secret"));
    const plant = `ln -s ${secret} /evil-file; ln -s ${secretDir} /evil-dir; mkdir /d; ln -s ${secret} /d/evil; ln -s / /d/root`;
    expect((await w.husk(["run", "--name", "x3", "--network", "none", "busybox", "sh", "-c", plant])).code).toBe(0);
    const clean = async (tar: string) => {
      const entries = await tarXattrs(tar);
      for (const link of ["evil-file", "evil-dir", "d/evil", "d/root"]) expect(entries.get(link)).toEqual({});
      expect(readFileSync(tar).includes("host-xattr-secret")).toBe(false);
    };
    const exported = join(tmp, "evil.tar");
    expect((await w.husk(["export", "-o", exported, "x3"])).code).toBe(0);
    await clean(exported);
    expect((await w.husk(["commit", "x3", "example.test/evil-xattr:1"])).code).toBe(0);
    await clean(await layerOf("example.test/evil-xattr:1"));
    await w.husk(["rm", "x3"]);
  });

  test("the reader: large answers split across pipe reads, gone and unreadable names, and it goes on after an error", async () => {
    const dir = join(tmp, "many");
    mkdirSync(dir);
    const value = (i: number) => Buffer.concat([Buffer.from([i & 0xff, 0, 0xff]), Buffer.alloc(2000, i % 251)]);
    const names = Array.from({ length: 1500 }, (_, i) => `f${i}`);
    for (const n of names) writeFileSync(join(dir, n), "");
    // One python for all of them (a process per file would be the slow part of this test).
    const script =
      "import os,sys\nfor i in range(int(sys.argv[2])):\n  os.setxattr(f'{sys.argv[1]}/f{i}', 'user.v', bytes([i & 255, 0, 255]) + bytes([i % 251]) * 2000)";
    expect(spawnSync("python3", ["-c", script, dir, String(names.length)]).status).toBe(0);
    const d = await Dir.open(dir);
    const reader = new XattrReader();
    try {
      const got = await reader.read(d, [...names, "gone"]);
      for (const [i, n] of names.entries()) expect(got.get(n)?.get("user.v")?.equals(value(i))).toBe(true);
      expect(got.get("gone")?.size).toBe(0);
      const err = await reader.read(d, ["f1", "x".repeat(300), "f2"]).catch((e) => e);
      expect(err).toBeInstanceOf(HuskError);
      expect(String(err)).toContain("ENAMETOOLONG");
      expect((await reader.read(d, ["f3"])).get("f3")?.get("user.v")?.equals(value(3))).toBe(true);
    } finally {
      await reader.close();
      await d.close();
    }
  });
});
