/**
 * Pausing a container that was created but not started, as runc allows: `state` says paused,
 * `resume` brings it back to created, `start` then runs it; `start` while paused refuses at once
 * instead of waiting on a frozen init.
 */
import { afterEach, expect, test } from "bun:test";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, husk } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function created(args: string[]) {
  const b = makeBundle(args);
  cleanups.push(() => b.remove());
  const id = nextId();
  cleanups.push(async () => {
    await husk(["delete", "--force", id]);
  });
  const c = await createContainer(b.dir, id);
  return { id, ...c };
}

const status = async (id: string) => (JSON.parse((await husk(["state", id])).stdout) as { status: string }).status;

describeAsRoot("pause a created container", () => {
  test("state says paused; resume brings it back to created; start then runs it", async () => {
    const { id, run } = await created(["echo", "ran"]);
    expect(await status(id)).toBe("created");
    expect((await husk(["pause", id])).code).toBe(0);
    expect(await status(id)).toBe("paused");
    const again = await husk(["pause", id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("container not running");
    const resumed = await husk(["resume", id]);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    expect(await status(id)).toBe("created");
    expect((await husk(["start", id], { timeoutMs: 10000 })).code).toBe(0);
    expect((await run.finish()).stdout).toBe("ran\n");
  });

  test("start refuses a paused created container instead of hanging", async () => {
    const { id, run } = await created(["echo", "ran"]);
    expect((await husk(["pause", id])).code).toBe(0);
    const started = Date.now();
    const r = await husk(["start", id], { timeoutMs: 10000 });
    expect(r.stderr).toContain("cannot start a container in the paused state");
    expect(r.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await status(id)).toBe("paused");
    expect((await husk(["resume", id])).code).toBe(0);
    expect((await husk(["start", id], { timeoutMs: 10000 })).code).toBe(0);
    expect((await run.finish()).stdout).toBe("ran\n");
  });

  test("delete --force removes a paused created container", async () => {
    const { id } = await created(["true"]);
    expect((await husk(["pause", id])).code).toBe(0);
    expect((await husk(["delete", "--force", id], { timeoutMs: 15000 })).code).toBe(0);
    expect((await husk(["state", id])).stderr).toContain("container does not exist");
  });
});
