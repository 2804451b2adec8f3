// Bun's helper batch (src/sys/bun.ts startHelperBatch): spare helpers forked by one
// `husk-helper --batch` process, its control channel read only while someone waits on it.
// Real processes and fds; no root needed. The helpers are told to go by closing their channel
// (a helper that reads EOF instead of a plan exits quietly).
import { expect, test } from "bun:test";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHelperBatch } from "../../src/sys/bun.ts";
import { running } from "../fixtures/container.ts";

const REPO = join(import.meta.dir, "../..");
const HELPER = join(REPO, "native/husk-helper");
const openFds = () => readdirSync("/proc/self/fd").length;

test("helpers forked on request: a pid each, their output pipes, their exits; nothing of ours left open after", async () => {
  const before = openFds();
  const batch = startHelperBatch(HELPER, { stdio: ["ignore", "pipe", "pipe"] }, 3);
  if (!batch) throw new Error("no batch for this shape");
  expect(batch.left).toBe(3);
  const a = await batch.fork();
  const b = await batch.fork();
  expect(batch.left).toBe(1);
  for (const h of [a, b]) {
    expect(h?.pid).toBeGreaterThan(0);
    expect(running(h!.pid)).toBe(true);
    expect(h?.stdio.stdout).toBeDefined();
    expect(h?.stdio.stderr).toBeDefined();
    expect(h?.alive?.()).toBe(true);
  }
  batch.close();
  expect(batch.left).toBe(0);
  expect(batch.fork()).toBeUndefined();
  // Waited for (ref'd), then told to go: their exits are read from the batch.
  for (const h of [a!, b!]) {
    h.ref();
    h.channel.close();
    for (const s of [h.stdio.stdout, h.stdio.stderr]) s?.destroy();
  }
  expect(await a!.exited).toBe(1);
  expect(await b!.exited).toBe(1);
  for (let i = 0; i < 100 && openFds() > before; i++) await Bun.sleep(10);
  expect(openFds()).toBe(before);
});

test("a spare killed while it waits is known dead when taken (alive()), without its exit being read", async () => {
  const batch = startHelperBatch(HELPER, { stdio: ["ignore", "ignore", "ignore"] }, 2);
  const h = await batch!.fork();
  h!.unref();
  expect(h!.alive?.()).toBe(true);
  process.kill(h!.pid, "SIGKILL");
  for (let i = 0; i < 100 && h!.alive?.(); i++) await Bun.sleep(10);
  expect(h!.alive?.()).toBe(false);
  h!.ref();
  expect(await h!.exited).toBe(137);
  h!.channel.close();
  batch!.close();
});

test("a launch that feeds stdin gets no batch (it spawns its own helper); an fd of the caller's is refused", () => {
  expect(startHelperBatch(HELPER, { stdio: ["pipe", "pipe", "pipe"] }, 2)).toBeUndefined();
  expect(() => startHelperBatch(HELPER, { stdio: [0, "pipe", "pipe"] }, 2)).toThrow("no fd of the caller's");
});

test("spares that wait unused keep no process alive: the caller exits, and the batch and its helpers with it", () => {
  const script = join(tmpdir(), `husk-batch-exit-${process.pid}.ts`);
  writeFileSync(
    script,
    `import { startHelperBatch } from ${JSON.stringify(join(REPO, "src/sys/bun.ts"))};
const batch = startHelperBatch(${JSON.stringify(HELPER)}, { stdio: ["ignore", "pipe", "pipe"] }, 4);
const h = await batch.fork();
h.unref();
console.log(h.pid);
`,
  );
  const t = performance.now();
  let r: SpawnSyncReturns<string>;
  try {
    r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 10000 });
  } finally {
    rmSync(script, { force: true });
  }
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(performance.now() - t).toBeLessThan(5000);
  const pid = Number(r.stdout.trim());
  expect(pid).toBeGreaterThan(0);
  // The helper read EOF on its channel when its owner went, and exited.
  for (let i = 0; i < 100 && running(pid); i++) Bun.sleepSync(10);
  expect(running(pid)).toBe(false);
});
