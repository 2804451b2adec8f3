/**
 * What making a container's root filesystem costs (overlayfs' work directory, the /etc files'
 * mount points copied up into the upper directory) is the engine's, as a daemon's mount is, and
 * not charged to the container's memory cgroup. A page of the data root's filesystem charged
 * there keeps the removed cgroup alive, dying, for as long as the page stays cached: one per
 * container, thousands on a busy host, and every later cgroup operation slows with them.
 *
 * On a fresh ext4 data root every new directory is a block never cached before, so a container
 * that made its rootfs itself would leave a dying memory cgroup behind each time; /proc/cgroups
 * counts them with the live ones.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../src/index.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { makeRootfs } from "../fixtures/rootfs.ts";

/** The memory controller's cgroups, live and dying, or undefined without the controller. */
function memoryCgroups(): number | undefined {
  const line = readFileSync("/proc/cgroups", "utf8")
    .split("\n")
    .find((l) => l.startsWith("memory\t"));
  return line ? Number(line.split("\t")[2]) : undefined;
}

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
};

describeAsRoot("engine rootfs cost", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-rootfs-cost-"));
  const mnt = join(dir, "data");
  const stateRoot = mkdtempSync("/run/husk-rootfs-cost-");
  let engine: Engine | undefined;

  beforeAll(() => {
    const image = join(dir, "ext4.img");
    run("truncate", ["-s", "128M", image]);
    run("mkfs.ext4", ["-q", "-F", image]);
    mkdirSync(mnt);
    run("mount", ["-o", "loop", image, mnt]);
    engine = new Engine({ dataRoot: mnt, stateRoot, ipForward: false });
  });

  afterAll(async () => {
    await engine?.idle();
    if (existsSync(mnt)) spawnSync("umount", [mnt]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test("containers on a fresh ext4 data root leave no dying memory cgroup behind", async () => {
    const e = engine as Engine;
    const runTrue = async () => expect((await e.run("busybox", ["true"], { network: "none" })).exitCode).toBe(0);
    await runTrue(); // the image is built here, by this process
    const before = memoryCgroups();
    if (before === undefined) return; // no memory controller: nothing to charge
    const runs = 12;
    for (let i = 0; i < runs; i++) await runTrue();
    // A removed cgroup with nothing charged is freed within moments.
    let after = memoryCgroups() as number;
    for (let i = 0; i < 20 && after > before; i++) {
      await Bun.sleep(100);
      after = memoryCgroups() as number;
    }
    expect(after - before).toBeLessThanOrEqual(2);
  });

  test("an image whose /etc is a link out gets its mount points from the container's own steps, confined to it", async () => {
    const e = engine as Engine;
    const outside = join(dir, "outside");
    const rootfs = join(dir, "hostile");
    makeRootfs(rootfs);
    rmSync(join(rootfs, "etc"), { recursive: true });
    // Absolute, and by "..": either way the host's directory were it followed on the host.
    symlinkSync(outside, join(rootfs, "etc"));
    mkdirSync(join(rootfs, "data"));
    symlinkSync(`../../../../../../..${outside}`, join(rootfs, "data", "up"));
    run("tar", ["-C", rootfs, "-cf", join(dir, "hostile.tar"), "."]);
    await e.importImage(join(dir, "hostile.tar"), { format: "rootfs", tags: ["hostile:etc"] });
    mkdirSync(join(dir, "vol"));
    // The link inside the root leads nowhere there: the container's own step refuses it
    // (ENOENT), as it did before any mount point was made ahead.
    const failed = await e.run("hostile:etc", ["true"], { network: "none", volumes: [`${join(dir, "vol")}:/data/up/v`] }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failed?.message).toContain("create mount point");
    expect(existsSync(outside)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["data", "ext4.img", "hostile", "hostile.tar", "vol"]);
    expect(readdirSync(join(dir, "vol"))).toEqual([]);
  });

  test("a data root too deep for fsconfig (a value of 255 bytes at most): the container mounts its rootfs itself", async () => {
    const deep = join(mnt, "d".repeat(120), "e".repeat(120));
    mkdirSync(deep, { recursive: true });
    const far = new Engine({ dataRoot: deep, stateRoot: mkdtempSync("/run/husk-rootfs-deep-"), ipForward: false });
    try {
      const r = await far.run("busybox", ["sh", "-c", "echo made > /made; cat /made; ls /etc/hosts"], { network: "none" });
      expect([r.exitCode, r.stdout]).toEqual([0, "made\n/etc/hosts\n"]);
    } finally {
      await far.idle();
      rmSync(far.stateRoot, { recursive: true, force: true });
    }
  });
});
