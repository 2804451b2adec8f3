/**
 * The spare helpers' pool (src/helper/spares.ts): none before the second launch; one at first;
 * one more each time a launch finds none (several containers at once), up to MAX_SPARES; a
 * spare goes only to a launch of its shape; closeSpares lets every one go and waits for it.
 * The helpers here are stand-ins: what is checked is the pool's bookkeeping.
 */
import { expect, test } from "bun:test";
import { closeSpares, type HelperSpares, MAX_SPARES, refillSpare, takeSpare } from "../../src/helper/spares.ts";
import type { HelperProcess } from "../../src/sys/index.ts";

let nextPid = 1;
function fakeHelper(): HelperProcess & { closed: boolean } {
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const helper = {
    pid: nextPid++,
    closed: false,
    exited,
    stdio: {},
    unref() {},
    ref() {},
    channel: {
      close() {
        helper.closed = true;
        exit(0);
      },
    },
  };
  return helper as unknown as HelperProcess & { closed: boolean };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test("the pool starts after two launches and grows while launches find it empty", async () => {
  const spares: HelperSpares = {};
  let spawned = 0;
  const spawn = async () => {
    spawned++;
    return fakeHelper();
  };
  expect(takeSpare(spares, "k")).toBeUndefined();
  refillSpare(spares, "k", spawn);
  expect(spawned).toBe(0); // one launch: a CLI never pays for a spare
  expect(takeSpare(spares, "k")).toBeUndefined();
  refillSpare(spares, "k", spawn);
  await settle();
  expect(spawned).toBe(1);
  // Four at once: the first takes the spare, the other three find none and the pool grows.
  const taken = [0, 1, 2, 3].map(() => takeSpare(spares, "k"));
  expect(taken.filter(Boolean).length).toBe(1);
  refillSpare(spares, "k", spawn);
  await settle();
  expect(spares.pool?.length).toBe(MAX_SPARES);
  expect(spawned).toBe(1 + MAX_SPARES);
  // Another shape gets none of them.
  expect(takeSpare(spares, "other")).toBeUndefined();
  const pool = [...(spares.pool ?? [])];
  await closeSpares(spares);
  expect(spares.pool?.length).toBe(0);
  expect(pool.every((s) => (s.helper as unknown as { closed: boolean }).closed)).toBe(true);
});

test("a spare that has exited is not handed out", async () => {
  const spares: HelperSpares = { launches: 2 };
  const helper = fakeHelper();
  refillSpare(spares, "k", async () => helper);
  await settle();
  helper.channel.close(); // it went away by itself
  await settle();
  expect(takeSpare(spares, "k")).toBeUndefined();
  expect(spares.pool?.length).toBe(0);
  await closeSpares(spares);
});
