/**
 * The spare helpers' pool (src/helper/spares.ts): none before the second launch; one at first;
 * one more each time a launch finds none (several containers at once), up to MAX_SPARES; a
 * spare goes only to a launch of its shape, and each shape keeps its own; Node's spares come
 * from a batch per shape, one at a time; closeSpares lets every one go and waits for it, and
 * closes the batches. The helpers here are stand-ins: what is checked is the bookkeeping.
 */
import { expect, test } from "bun:test";
import { closeSpares, type HelperSpares, MAX_SPARES, refillSpare, spareFromBatch, takeSpare } from "../../src/helper/spares.ts";
import type { HelperBatch, HelperProcess } from "../../src/sys/index.ts";

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

test("one shape's spares leave room for another's", async () => {
  const spares: HelperSpares = { launches: 2 };
  const starts: string[] = [];
  const spawnFor = (key: string) => async () => {
    starts.push(key);
    return fakeHelper();
  };
  refillSpare(spares, "k", spawnFor("k"));
  refillSpare(spares, "k", spawnFor("k")); // the one under way counts: no second start
  await settle();
  expect(starts).toEqual(["k"]);
  // Another shape is not crowded out by the first's spare.
  expect(takeSpare(spares, "other")).toBeUndefined();
  refillSpare(spares, "other", spawnFor("other"));
  await settle();
  // (the miss grew the pool's want to two: two of the other shape)
  expect(starts).toEqual(["k", "other", "other"]);
  expect(takeSpare(spares, "other")).toBeDefined();
  expect(takeSpare(spares, "k")).toBeDefined();
  await closeSpares(spares);
});

/** A stand-in for Node's HelperBatch (src/sys/node.ts): `count` helpers, forked in order. */
function fakeBatch(count: number): HelperBatch & { closed: boolean; forked: number } {
  const batch = {
    closed: false,
    forked: 0,
    get left() {
      return batch.closed ? 0 : count - batch.forked;
    },
    fork() {
      if (batch.left === 0) return undefined;
      batch.forked++;
      return Promise.resolve(fakeHelper());
    },
    close() {
      batch.closed = true;
    },
  };
  return batch;
}

test("spares come from one batch until it is used up, then from a new one; none at once twice", async () => {
  const spares: HelperSpares = {};
  const batches: ReturnType<typeof fakeBatch>[] = [];
  const start = async () => {
    await settle(); // a start takes a turn of the event loop, as the real one's import does
    const b = fakeBatch(3);
    batches.push(b);
    return b;
  };
  // Two launches asking at once share the one batch being started.
  const first = await Promise.all([spareFromBatch(spares, "k", start), spareFromBatch(spares, "k", start)]);
  expect(first.every(Boolean)).toBe(true);
  expect(batches.length).toBe(1);
  expect(await spareFromBatch(spares, "k", start)).toBeDefined();
  expect(batches[0]?.forked).toBe(3);
  // Used up: the next comes from a second batch; another shape has its own.
  expect(await spareFromBatch(spares, "k", start)).toBeDefined();
  expect(await spareFromBatch(spares, "other", start)).toBeDefined();
  expect(batches.map((b) => b.forked)).toEqual([3, 1, 1]);
  // Idle (closeSpares) closes the batches it keeps.
  await closeSpares(spares);
  expect(batches.slice(1).every((b) => b.closed)).toBe(true);
});

test("without batches (Bun), spareFromBatch gives nothing and the caller spawns", async () => {
  const spares: HelperSpares = {};
  expect(await spareFromBatch(spares, "k", async () => undefined)).toBeUndefined();
  await closeSpares(spares);
});

test("a batch that cannot start is forgotten: this launch spawns, a later one tries again", async () => {
  const spares: HelperSpares = {};
  let tries = 0;
  const start = async () => {
    tries++;
    if (tries === 1) throw new Error("no batch");
    return fakeBatch(2);
  };
  expect(await spareFromBatch(spares, "k", start)).toBeUndefined();
  expect(await spareFromBatch(spares, "k", start)).toBeDefined();
  expect(tries).toBe(2);
  await closeSpares(spares);
});

test("closeSpares gets past a batch that could not start", async () => {
  const spares: HelperSpares = {};
  await spareFromBatch(spares, "k", async () => {
    throw new Error("no batch");
  });
  // Forgotten at once: nothing for closeSpares to wait on, and nothing it throws.
  spares.batches?.set("j", { batch: Promise.reject(new Error("no batch")), timer: undefined });
  await closeSpares(spares);
  expect(spares.batches?.size).toBe(0);
});
