/**
 * The container's network made by its own helper (plan ops parentNetlink and
 * waitParentNetlink, the runtime's parentNetlink option): the helper's parent, in the host's
 * namespaces, runs a netlink plan the caller hands over once the container process exists; the
 * container waits for it before its process runs, with or without a user namespace. A refused
 * message or a plan that never comes fails the run, the container never runs its process, and
 * nothing is left.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StepError } from "../../src/errors.ts";
import type { ParentNetlink } from "../../src/helper/driver.ts";
import { netlinkStep } from "../../src/network/links.ts";
import { delLink, LOOPBACK_INDEX, newBridge, setLink } from "../../src/network/netlink.ts";
import type { LinuxIDMapping, Spec } from "../../src/oci/types.ts";
import type { Plan } from "../../src/plan/ops.ts";
import { Runtime } from "../../src/runtime/runtime.ts";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { chownRootfs, makeBundle } from "../fixtures/rootfs.ts";

/** A bridge made inside the container's namespace, and a harmless message sent from the host's ("" = the parent's). */
function bridgePlan(pid: number, extra: { what: string; bytes: Uint8Array }[] = []): Plan {
  const ns = `/proc/${pid}/ns/net`;
  return [
    netlinkStep(`set up hk0 in ${ns}`, ns, [
      { what: "create bridge hk0", bytes: newBridge({ name: "hk0", mac: "02:00:00:00:00:01", mtu: 1500, up: true }) },
      { what: "set lo up", bytes: setLink({ index: LOOPBACK_INDEX }, { up: true }) },
      ...extra,
    ]),
    netlinkStep("host side", "", [{ what: "set the host's lo up", bytes: setLink({ index: LOOPBACK_INDEX }, { up: true }) }]),
  ];
}

/** A ParentNetlink whose plan comes from `make` once the pid is known, recording what it was told. */
function recorder(make: (pid: number) => Promise<Plan>) {
  const log: string[] = [];
  let outcome: Error | undefined | "pending" = "pending";
  const parent: ParentNetlink = {
    plan: async (pid) => {
      log.push("plan");
      return await make(pid);
    },
    sent: () => log.push("sent"),
    settled: (err) => {
      log.push(err ? "failed" : "ran");
      outcome = err;
    },
  };
  return { parent, log, outcome: () => outcome };
}

async function withRuntime(fn: (rt: Runtime, root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join("/run", "husk-parentnl-"));
  const rt = new Runtime({ root, onWarning: () => {} });
  try {
    await fn(rt, root);
  } finally {
    for (const c of await rt.list()) await rt.delete(c.id, { force: true });
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * A bundle whose process would touch /marker/ran (a host directory bound in), run in a fresh
 * runtime root: for the runs that must fail before the process runs.
 */
async function withMarkerBundle(
  fn: (b: ReturnType<typeof makeBundle>, marker: string, rt: Runtime, root: string) => Promise<void>,
) {
  const marker = mkdtempSync(join(tmpdir(), "husk-parentnl-"));
  const bundle = makeBundle(["sh", "-c", "touch /marker/ran"], (s) => {
    s.mounts = [...(s.mounts ?? []), { destination: "/marker", type: "bind", source: marker, options: ["rbind", "rw"] }];
  });
  try {
    await withRuntime((rt, root) => fn(bundle, marker, rt, root));
  } finally {
    bundle.remove();
    rmSync(marker, { recursive: true, force: true });
  }
}

/** Run the bundle's command with the parent's plan; its stdout (a pipe read to its end). */
async function runWith(rt: Runtime, spec: Spec, dir: string, parent: ParentNetlink): Promise<{ status: number; out: string }> {
  let out = "";
  let read: Promise<void> = Promise.resolve();
  const status = await rt.run(
    nextId(),
    { spec, dir },
    {
      stdio: ["ignore", "pipe", "inherit"],
      onStdio: (s) => {
        read = (async () => {
          for await (const chunk of s.stdout!) out += chunk.toString();
        })();
      },
      onNamespaces: () => {},
      parentNetlink: parent,
    },
  );
  await read;
  return { status, out };
}

const UID_MAPS: LinuxIDMapping[] = [{ containerID: 0, hostID: 100000, size: 65536 }];

describeAsRoot("parentNetlink: the container's helper makes its network", () => {
  test("the plan runs in the container's namespace before its process, which has no fd of the host's", async () => {
    const bundle = makeBundle(["sh", "-c", "cat /proc/net/dev; ls /proc/self/fd"]); // a new network namespace by default
    try {
      await withRuntime(async (rt) => {
        const r = recorder(async (pid) => {
          await Bun.sleep(50); // the child sets itself up meanwhile, and then waits for the plan to have run
          return bridgePlan(pid);
        });
        const { status, out } = await runWith(rt, bundle.spec, bundle.dir, r.parent);
        expect(status).toBe(0);
        expect(out).toMatch(/^\s*hk0:/m);
        expect(out).toMatch(/^\s*lo:/m);
        // Only its stdio (and ls' own directory fd): no pipe to the helper, no namespace fd.
        const fds = out.split("\n").filter((l) => /^\d+$/.test(l));
        expect(fds.filter((f) => Number(f) > 3)).toEqual([]);
        expect(r.log).toEqual(["plan", "sent", "ran"]);
        expect(r.outcome()).toBeUndefined();
      });
    } finally {
      bundle.remove();
    }
  });

  test("in a new user namespace too (the child reads the channel for its id maps: the plan is read first)", async () => {
    const bundle = makeBundle(["sh", "-c", "cat /proc/net/dev; cat /proc/self/uid_map"], (s, rootfs) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = UID_MAPS.map((m) => ({ ...m }));
      s.linux!.gidMappings = UID_MAPS.map((m) => ({ ...m }));
      chownRootfs(rootfs, 100000, 100000);
    });
    try {
      await withRuntime(async (rt) => {
        const r = recorder(async (pid) => {
          await Bun.sleep(50); // the child is held meanwhile; its id-map wait comes after
          return bridgePlan(pid);
        });
        const { status, out } = await runWith(rt, bundle.spec, bundle.dir, r.parent);
        expect(status).toBe(0);
        expect(out).toMatch(/^\s*hk0:/m);
        expect(out).toContain("100000");
        expect(r.log).toEqual(["plan", "sent", "ran"]);
      });
    } finally {
      bundle.remove();
    }
  });

  test("a refused message fails the run naming it; the process never runs and nothing is left", async () => {
    await withMarkerBundle(async (bundle, marker, rt, root) => {
      const r = recorder(async (pid) => bridgePlan(pid, [{ what: "delete link nope0", bytes: delLink({ name: "nope0" }) }]));
      const err = await runWith(rt, bundle.spec, bundle.dir, r.parent).catch((e) => e);
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).errno).toBe("ENODEV");
      expect((err as StepError).what).toMatch(/^set up hk0 in \/proc\/\d+\/ns\/net: delete link nope0$/);
      expect(r.log).toEqual(["plan", "sent", "failed"]);
      expect(r.outcome()).toBe(err);
      expect(existsSync(join(marker, "ran"))).toBe(false);
      expect(readdirSync(root)).toEqual([]);
    });
  });

  test("a plan that never comes (the caller's rejects) ends the run before the process runs", async () => {
    await withMarkerBundle(async (bundle, marker, rt, root) => {
      const r = recorder(async () => {
        throw new Error("no address left");
      });
      const err = await runWith(rt, bundle.spec, bundle.dir, r.parent).catch((e) => e);
      expect((err as Error).message).toBe("no address left");
      expect(r.log).toEqual(["plan", "failed"]);
      expect(existsSync(join(marker, "ran"))).toBe(false);
      expect(readdirSync(root)).toEqual([]);
    });
  });
});
