/**
 * overlayfs' volatile for --rm containers (as podman mounts them): their upper layer goes when
 * they exit, so the kernel need not sync the upper filesystem for them; a container that stays
 * keeps a normal mount. A work directory a volatile mount has marked (overlayfs refuses to
 * mount it again while the mark is there) is cleared when the engine prepares a mount of it.
 */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kernelAtLeast } from "../../src/runtime/host-facts.ts";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

/** The container's root mount's options, as it sees them. */
const ROOT_OPTIONS = "grep ' / / ' /proc/self/mountinfo";
/** Linux 6.x shows it as fsync=volatile, 5.10–5.x as volatile. */
const VOLATILE = /(^|,)(fsync=)?volatile(,|$)/;

describeAsRoot("engine overlay volatile", () => {
  let w!: EngineWorld;
  let scratch!: string;
  worldWithScratch("husk-volatile-", (world, dir) => {
    w = world;
    scratch = dir;
  });

  test.skipIf(!kernelAtLeast(5, 10))("a --rm container's overlay is volatile, one that stays is not", async () => {
    const gone = await w.husk(["run", "--rm", "--network", "none", "busybox", "sh", "-c", ROOT_OPTIONS]);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain(" overlay overlay ");
    expect(gone.stdout.trim().split(" ").at(-1)).toMatch(VOLATILE);
    const kept = await w.husk(["run", "--name", "kept", "--network", "none", "busybox", "sh", "-c", ROOT_OPTIONS]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(" overlay overlay ");
    expect(kept.stdout.trim().split(" ").at(-1)).not.toMatch(VOLATILE);
    await w.husk(["rm", "kept"]);
  });

  test("a work directory left marked by a volatile mount is mounted again (husk cp into it)", async () => {
    const made = await w.husk([
      "run",
      "--name",
      "marked",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "cat /x 2>/dev/null; true",
    ]);
    expect(made.code).toBe(0);
    const id = (await w.husk(["inspect", "-f", "{{.Id}}", "marked"])).stdout.trim();
    // What a volatile mount of this upper leaves: overlayfs refuses the next mount (EINVAL) until it goes.
    mkdirSync(join(w.dataRoot, "containers", id, "work", "work", "incompat", "volatile"), { recursive: true });
    writeFileSync(join(scratch, "x"), "copied\n");
    const cp = await w.husk(["cp", join(scratch, "x"), "marked:/x"]);
    expect(cp.stderr).toBe("");
    expect(cp.code).toBe(0);
    const again = await w.husk(["start", "-a", "marked"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("copied\n");
    await w.husk(["rm", "marked"]);
  });
});
