/**
 * process.cwd cannot take the container's init out of its root (the CVE-2024-21626 class).
 *
 * The attack: a second party that shares a volume with the container swaps the cwd directory
 * with a symlink to /proc/self/fd/N (renameat2 RENAME_EXCHANGE in a loop) while the init runs
 * chdir(cwd). If the init holds a directory fd of the host at that moment, its cwd lands on the
 * host. husk's init holds no host directory fd (the start barrier is held by an O_PATH handle
 * on exec.fifo itself), and after chdir it checks that the cwd is inside its root.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, husk, spawnHusk } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

/** Swaps dir `x` and symlink `y` in `dir` until killed (python3: renameat2 through ctypes). */
function startSwapper(dir: string) {
  const script = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
x, y = b"${dir}/x", b"${dir}/y"
AT = -100
while True:
    libc.renameat2(AT, x, AT, y, 2)
`;
  return spawn("python3", ["-c", script], { stdio: "ignore" });
}

/** The fds of `pid` that are directories, with what they name. */
function directoryFds(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (statSync(`/proc/${pid}/fd/${fd}`).isDirectory()) out.push(`${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    } catch {
      // closed meanwhile, or an O_PATH handle stat cannot follow
    }
  }
  return out;
}

describeAsRoot("cwd", () => {
  test("a cwd only its owner may enter works for that user and for root without CAP_DAC_OVERRIDE (runc's chdir order)", async () => {
    // /root 0700 owned by uid 42; the default spec's capabilities have no DAC_OVERRIDE, so root
    // gets in only before it drops them, and uid 42 only after it has become uid 42.
    const bundle = makeBundle(["sleep", "60"], (spec, rootfs) => {
      chownSync(join(rootfs, "root"), 42, 42);
      chmodSync(join(rootfs, "root"), 0o700);
      if (spec.process) {
        spec.process.cwd = "/root";
        spec.process.user = { uid: 42, gid: 42 };
      }
    });
    const id = nextId();
    try {
      await createContainer(bundle.dir, id);
      expect((await husk(["start", id])).code).toBe(0);
      const asRoot = await husk(["exec", "--user", "0", id, "pwd"]);
      expect(asRoot.stderr).toBe("");
      expect(asRoot).toMatchObject({ code: 0, stdout: "/root\n" });
      const asOwner = await husk(["exec", id, "sh", "-c", "pwd; id -u"]);
      expect(asOwner).toMatchObject({ code: 0, stdout: "/root\n42\n" });
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("a created container's init holds no directory of the host", async () => {
    const bundle = makeBundle(["true"]);
    const id = nextId();
    try {
      const { pid } = await createContainer(bundle.dir, id);
      expect(directoryFds(pid)).toEqual([]);
      // What it does hold for the start barrier is the fifo itself.
      const links = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
      expect(links.filter((l) => l.startsWith("/") && !l.startsWith("/dev/"))).toEqual([
        expect.stringMatching(/\/exec\.fifo$/) as unknown as string,
      ]);
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("a cwd swapped for a /proc/self/fd link by a volume's other user never lands outside the root", async () => {
    // Two volumes whose y links to fd 5 (where the state directory was held) and to fd 3: a
    // host directory passed with --preserve-fds 1, which only the post-chdir check can catch.
    const vols = [5, 3].map((fd) => {
      const dir = mkdtempSync(join(tmpdir(), "husk-vol-"));
      mkdirSync(join(dir, "x"));
      symlinkSync(`/proc/self/fd/${fd}`, join(dir, "y"));
      return { dir, cwd: statSync(join(dir, "x")) };
    });
    const hostDir = mkdtempSync(join(tmpdir(), "husk-hostdir-"));
    const fd3 = openSync(hostDir, "r");
    const swappers = vols.map((v) => startSwapper(v.dir));
    const bundle = makeBundle(["true"], (spec) => {
      if (spec.process) spec.process.cwd = "/vol/x";
    });
    const escaped: string[] = [];
    let created = 0;
    let refused = 0;
    try {
      for (let round = 0; round < 24; round++) {
        const vol = vols[round % 2] as (typeof vols)[number];
        bundle.spec.mounts = [
          ...(bundle.spec.mounts ?? []).filter((m) => m.destination !== "/vol"),
          { destination: "/vol", type: "bind", source: vol.dir, options: ["rbind"] },
        ];
        bundle.write();
        const id = nextId();
        try {
          // fd 5 is where the state directory was held when nothing is preserved.
          const run =
            round % 2
              ? spawnHusk(["create", "--preserve-fds", "1", "--bundle", bundle.dir, id], { extraFds: [fd3] })
              : spawnHusk(["create", "--bundle", bundle.dir, id]);
          if ((await run.proc.exited) !== 0) {
            // A failed create's container is gone, so its stdio closes and the output is whole.
            const r = await run.finish();
            refused++;
            // Refusals are clear: the cwd check, or the cwd vanished mid-swap.
            expect(r.stderr.trim().split("\n")).toHaveLength(1);
            continue;
          }
          created++;
          const state = JSON.parse((await husk(["state", id])).stdout) as { pid: number };
          // The directory itself, whatever name it has now: the swapper moves it between x and y.
          const cwd = statSync(`/proc/${state.pid}/cwd`);
          if (cwd.ino !== vol.cwd.ino || cwd.dev !== vol.cwd.dev) escaped.push(readlinkSync(`/proc/${state.pid}/cwd`));
        } finally {
          await husk(["delete", "--force", id]);
        }
      }
      expect(escaped).toEqual([]);
      expect(created + refused).toBe(24);
      expect(readdirSync(hostDir)).toEqual([]);
    } finally {
      for (const s of swappers) s.kill("SIGKILL");
      closeSync(fd3);
      bundle.remove();
      for (const v of vols) rmSync(v.dir, { recursive: true, force: true });
      rmSync(hostDir, { recursive: true, force: true });
    }
  });
});
