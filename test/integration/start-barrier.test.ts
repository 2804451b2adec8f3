/**
 * The create/start barrier: the init holds exec.fifo's read end (opened before the root switch,
 * so it needs neither a path nor /proc later) and `start` writes to it. It works without a mount
 * namespace, tells a dead init from a waiting one, and releases exactly once.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, husk } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

async function status(id: string): Promise<string> {
  const r = await husk(["state", id]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : `error: ${r.stderr}`;
}

describeAsRoot("start barrier", () => {
  test("a container without a mount namespace (chroot only, no /proc) is created and started", async () => {
    const bundle = makeBundle(["sh", "-c", "echo started > /tmp/out; sleep 60"], (spec) => {
      if (spec.linux) {
        spec.linux.namespaces = (spec.linux.namespaces ?? []).filter((n) => n.type !== "mount");
        spec.linux.maskedPaths = [];
        spec.linux.readonlyPaths = [];
      }
      spec.mounts = [];
    });
    const id = nextId();
    try {
      await createContainer(bundle.dir, id);
      expect(await status(id)).toBe("created");
      const r = await husk(["start", id]);
      expect(`${r.code} ${r.stderr}`).toBe("0 ");
      // The shell's > makes the file before echo writes it: wait for the line, not for the file.
      // A fresh read each time: a Bun.file keeps the size it first saw (0 here) and reads no more.
      const out = `${bundle.rootfs}/tmp/out`;
      const read = () => (existsSync(out) ? readFileSync(out, "utf8") : "");
      const deadline = Date.now() + 5000;
      while (read() !== "started\n" && Date.now() < deadline) await Bun.sleep(10);
      expect(read()).toBe("started\n");
      expect(await status(id)).toBe("running");
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("start of a created container whose init was killed says it stopped; a second start refuses", async () => {
    const bundle = makeBundle(["true"]);
    const dead = nextId();
    const live = nextId();
    try {
      const { pid } = await createContainer(bundle.dir, dead);
      process.kill(pid, "SIGKILL");
      const deadline = Date.now() + 5000;
      while ((await status(dead)) !== "stopped" && Date.now() < deadline) await Bun.sleep(10);
      const r = await husk(["start", dead]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("cannot start a container that has stopped");

      await createContainer(bundle.dir, live);
      expect((await husk(["start", live])).code).toBe(0);
      const again = await husk(["start", live]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/cannot start (an already running container|a container that has stopped)/);
    } finally {
      await husk(["delete", "--force", dead]);
      await husk(["delete", "--force", live]);
      bundle.remove();
    }
  });

  test("a seccomp profile that refuses getcwd still gets the cwd checked, and runs", async () => {
    const bundle = makeBundle(["sh", "-c", "pwd"], (spec) => {
      if (spec.process) spec.process.cwd = "/tmp";
      if (spec.linux) {
        spec.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64"],
          syscalls: [{ names: ["getcwd"], action: "SCMP_ACT_ERRNO" }],
        };
      }
    });
    const id = nextId();
    try {
      const r = await husk(["run", "--bundle", bundle.dir, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });
});
