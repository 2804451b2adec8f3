/**
 * Nothing a container mounts reaches the host's mount table, whatever rootfsPropagation asks
 * and however the host's mounts around the rootfs propagate: a rootfs under a shared mount, a
 * rootfs that is itself a shared mount point, a shared "/" (systemd's default), and a create
 * that fails half way through its mounts.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, ourMounts, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle, type TestBundle } from "../fixtures/rootfs.ts";

const PROPAGATIONS = [undefined, "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable"] as const;

function sh(cmd: string): void {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

/**
 * A shared tmpfs at <tmp>/S holding a copy of the bundle: with `rootfsMount` the rootfs is a
 * shared mount point of its own as well.
 */
function sharedLayout(bundle: TestBundle, rootfsMount: boolean): { top: string; dir: string; remove(): void } {
  const top = mkdtempSync(join(tmpdir(), "husk-prop-"));
  const dir = join(top, "S");
  mkdirSync(dir);
  sh(`mount -t tmpfs husk-prop ${dir} && mount --make-shared ${dir}`);
  if (rootfsMount) {
    mkdirSync(join(dir, "rootfs"));
    sh(`mount -t tmpfs husk-prop-root ${dir}/rootfs`);
  }
  cpSync(bundle.dir, dir, { recursive: true, verbatimSymlinks: true });
  return {
    top,
    dir,
    remove() {
      spawnSync("umount", ["-R", dir]);
      rmSync(top, { recursive: true, force: true });
    },
  };
}

describeAsRoot("rootfs propagation", () => {
  for (const rootfsMount of [false, true]) {
    for (const propagation of PROPAGATIONS) {
      const layout = rootfsMount ? "a shared rootfs mount point" : "a rootfs under a shared mount";
      test(`${layout}, rootfsPropagation ${propagation ?? "unset"}: runs, and leaks no mount`, async () => {
        const bundle = makeBundle(["sh", "-c", "echo ok"], (spec) => {
          if (spec.linux) spec.linux.rootfsPropagation = propagation;
        });
        const shared = sharedLayout(bundle, rootfsMount);
        const before = ourMounts();
        const id = nextId();
        try {
          const r = await husk(["run", "--bundle", shared.dir, id]);
          expect(r.stderr).toBe("");
          expect(r.stdout).toBe("ok\n");
          expect(ourMounts()).toEqual(before);
        } finally {
          await husk(["delete", "--force", id]);
          shared.remove();
          bundle.remove();
        }
      });
    }
  }

  test.each(["private", "rshared"])(
    "a create that fails after proc, sys and /dev are mounted leaks no mount (%s)",
    async (propagation) => {
      const bundle = makeBundle(["true"], (spec) => {
        if (spec.linux) spec.linux.rootfsPropagation = propagation;
        spec.mounts?.push({ destination: "/broken", type: "no-such-fs", source: "none" });
      });
      const shared = sharedLayout(bundle, false);
      const before = ourMounts();
      const id = nextId();
      try {
        const r = await husk(["create", "--bundle", shared.dir, id]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('"/broken"');
        expect(ourMounts()).toEqual(before);
      } finally {
        await husk(["delete", "--force", id]);
        shared.remove();
        bundle.remove();
      }
    },
  );

  test('a shared "/" (systemd\'s default) leaks nothing into it', () => {
    // A namespace of the test's own whose whole tree is shared, as on a systemd host.
    const bundle = makeBundle(["sh", "-c", "echo ok"], (spec) => {
      if (spec.linux) spec.linux.rootfsPropagation = "private";
    });
    const id = nextId();
    try {
      const script = `
        before=$(wc -l < /proc/self/mountinfo)
        ${HUSK} --root ${TEST_ROOT} run --bundle ${bundle.dir} ${id} || exit 1
        after=$(wc -l < /proc/self/mountinfo)
        echo "$before $after"`;
      const r = spawnSync("unshare", ["--mount", "--propagation", "shared", "sh", "-c", script], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const [out, counts] = r.stdout.trim().split("\n");
      expect(out).toBe("ok");
      const [before, after] = (counts ?? "").split(" ");
      expect(after).toBe(before);
    } finally {
      spawnSync(HUSK, ["--root", TEST_ROOT, "delete", "--force", id]);
      bundle.remove();
    }
  });
});
