/**
 * `create` succeeds only when the container process reached the start barrier. One that dies
 * during setup without reporting a step (killed by its own seccomp filter, by the OOM killer)
 * is a failed create with a clear line, and leaves nothing behind.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { detectCgroupLayout } from "../../src/cgroups/layout.ts";
import type { Spec } from "../../src/oci/types.ts";
import { nextId, stateDirs } from "../fixtures/container.ts";
import { describeAsRoot, husk } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

async function createFails(edit: (spec: Spec) => void): Promise<string> {
  const bundle = makeBundle(["true"], edit);
  const id = nextId();
  try {
    const r = await husk(["create", "--bundle", bundle.dir, id]);
    expect(r.code).not.toBe(0);
    expect(stateDirs()).not.toContain(id);
    expect((await husk(["state", id])).code).not.toBe(0);
    return r.stderr.trim();
  } finally {
    await husk(["delete", "--force", id]);
    bundle.remove();
  }
}

describeAsRoot("create failures", () => {
  const mode = detectCgroupLayout().mode;
  (mode === "v2" ? test.skip : test)(
    `linux.resources.unified on a ${mode} host: refused in runc's words before any cgroup is made${mode === "v2" ? " (skipped: this host is cgroup v2)" : ""}`,
    async () => {
      const path = `/husk-test-unified-${process.pid}`;
      const err = await createFails((spec) => {
        if (spec.linux) {
          spec.linux.cgroupsPath = path;
          spec.linux.resources = { ...spec.linux.resources, unified: { "memory.min": "131072" } };
        }
      });
      expect(err).toBe(
        `husk: linux.resources.unified: invalid configuration: cannot use unified on cgroup v1 (this host's cgroups are ${mode})`,
      );
      for (const h of ["memory", "pids", "unified"]) expect(existsSync(`/sys/fs/cgroup/${h}${path}`)).toBe(false);
    },
  );

  test("a seccomp profile that kills every system call fails create", async () => {
    const err = await createFails((spec) => {
      if (spec.linux) spec.linux.seccomp = { defaultAction: "SCMP_ACT_KILL", architectures: ["SCMP_ARCH_X86_64"] };
    });
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toContain("killed by SIGSYS during setup");
  });

  test("a seccomp rule that kills access(2), which the exec check makes, fails create", async () => {
    const err = await createFails((spec) => {
      if (spec.linux) {
        spec.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64"],
          syscalls: [{ names: ["access"], action: "SCMP_ACT_KILL" }],
        };
      }
    });
    expect(err).toContain("killed by SIGSYS during setup");
  });

  test("a 4 KiB memory limit: create fails, and run says why instead of passing on 137", async () => {
    const limit = (spec: Spec) => {
      if (spec.linux) spec.linux.resources = { ...spec.linux.resources, memory: { limit: 4096 } };
    };
    expect(await createFails(limit)).toContain("killed by SIGKILL during setup");
    const bundle = makeBundle(["true"], limit);
    const id = nextId();
    try {
      const r = await husk(["run", "--bundle", bundle.dir, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("killed by SIGKILL during setup");
      expect(stateDirs()).not.toContain(id);
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });
});
