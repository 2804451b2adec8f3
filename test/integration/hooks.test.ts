/**
 * Where OCI hooks run, as runc runs them: prestart, createRuntime, poststart and poststop on the
 * host from the bundle directory; createContainer in the container's mount namespace from its
 * rootfs, before the root switch (so a hook can bind something into the container by a relative
 * path: runc's "hooks library" test); startContainer in the container, from process.cwd.
 */
import { expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../../src/runtime/runtime.ts";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot, husk } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

describeAsRoot("hooks", () => {
  test("each hook's working directory: the bundle on the host, the rootfs for createContainer, process.cwd for startContainer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-hooks-"));
    const log = join(dir, "log");
    const script = join(dir, "hook.sh");
    writeFileSync(script, `#!/bin/sh\necho "$1 $(pwd)" >> ${log}\n`, { mode: 0o755 });
    const kinds = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] as const;
    const bundle = makeBundle(["true"], (s) => {
      s.process!.cwd = "/tmp";
      s.hooks = Object.fromEntries(kinds.map((k) => [k, [{ path: script, args: ["hook.sh", k] }]]));
      s.hooks.startContainer = [{ path: "/bin/sh", args: ["sh", "-c", 'echo "startContainer $(pwd)" >> /hooklog/log'] }];
      s.mounts = [...(s.mounts ?? []), { destination: "/hooklog", type: "bind", source: dir, options: ["rbind", "rw"] }];
    });
    const id = nextId();
    try {
      const r = await husk(["run", "--bundle", bundle.dir, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
        `prestart ${bundle.dir}`,
        `createRuntime ${bundle.dir}`,
        `createContainer ${bundle.rootfs}`,
        "startContainer /tmp",
        `poststart ${bundle.dir}`,
        `poststop ${bundle.dir}`,
      ]);
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a createContainer hook binds a file into the container by a path relative to the rootfs (runc's hooks library test)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-hooks-"));
    writeFileSync(join(dir, "lib.so"), "from the hook\n");
    const bundle = makeBundle(["cat", "/lib/hooked.so"], (s) => {
      s.hooks = {
        createContainer: [
          {
            path: "/bin/sh",
            args: ["/bin/sh", "-c", `mkdir -p ./lib && touch ./lib/hooked.so && mount --bind ${dir}/lib.so ./lib/hooked.so`],
          },
        ],
      };
    });
    const id = nextId();
    try {
      const r = await husk(["run", "--bundle", bundle.dir, id]);
      expect(r.stderr).toBe("");
      expect(r).toMatchObject({ code: 0, stdout: "from the hook\n" });
      // The bind was made in the container's mount namespace only.
      expect(readFileSync(join(bundle.rootfs, "lib/hooked.so"), "utf8")).toBe("");
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("onNamespaces starts once the container's namespaces are made, beside its setup, and the container waits for it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-hooks-"));
    const root = mkdtempSync(join("/run", "husk-hooks-"));
    const log = join(dir, "log");
    const bundle = makeBundle(["sh", "-c", "echo container >> /hooklog/log"], (s) => {
      s.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo hook >> ${log}`] }] };
      s.mounts = [...(s.mounts ?? []), { destination: "/hooklog", type: "bind", source: dir, options: ["rbind", "rw"] }];
    });
    const rt = new Runtime({ root });
    try {
      const status = await rt.run(
        nextId(),
        { spec: bundle.spec, dir: bundle.dir },
        {
          onNamespaces: async () => {
            appendFileSync(log, "namespaces\n");
            await Bun.sleep(300);
            appendFileSync(log, "namespaces done\n");
          },
        },
      );
      expect(status).toBe(0);
      // Started when the pid was known (before the hooks step), waited for before the container ran.
      expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["namespaces", "hook", "namespaces done", "container"]);
    } finally {
      for (const c of await rt.list()) await rt.delete(c.id, { force: true });
      rmSync(root, { recursive: true, force: true });
      bundle.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
