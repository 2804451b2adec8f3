/**
 * Locks that one caller (one LockReuse) asks for on one path take turns in this process before
 * the flock: in the order asked, each once the one before is released, a failed one passing its
 * turn on; other paths are not held up, and nothing is left in the queue once all are released.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LockReuse, lockExclusive } from "../../src/sys/index.ts";

const HELPER = join(import.meta.dir, "../../native/husk-helper");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-lock-turns-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("locks on one path are granted in the order asked, each after the one before is released", async () => {
  const reuse: LockReuse = {};
  const events: string[] = [];
  const first = await lockExclusive(dir, HELPER, reuse);
  const waiters = ["b", "c"].map((name) =>
    lockExclusive(dir, HELPER, reuse).then((release) => {
      events.push(`${name} held`);
      return release;
    }),
  );
  // Another path is not behind them.
  const other = await lockExclusive(tmpdir(), HELPER, reuse);
  events.push("other held");
  other();
  await Bun.sleep(20);
  expect(events).toEqual(["other held"]);
  events.push("a released");
  first();
  const b = await waiters[0];
  await Bun.sleep(20);
  expect(events).toEqual(["other held", "a released", "b held"]);
  b();
  (await waiters[1])();
  expect(events).toEqual(["other held", "a released", "b held", "c held"]);
  expect(reuse.turns?.size).toBe(0);
});

test("a lock that fails passes its turn on", async () => {
  const reuse: LockReuse = {};
  const missing = join(dir, "missing");
  const held = await lockExclusive(missing, HELPER, reuse).catch(() => undefined);
  expect(held).toBeUndefined();
  const release = await lockExclusive(missing, HELPER, reuse).catch((err: Error) => err);
  expect(release).toBeInstanceOf(Error);
  const ok = await lockExclusive(dir, HELPER, reuse);
  ok();
  ok(); // a second release does nothing
  expect(reuse.turns?.size).toBe(0);
});
