/**
 * The helper's --batch mode (native/batch.c), as Node's library drives it: a helper forked for
 * each byte on the control channel, in order, said by pid and, once reaped, by exit status; each
 * with its set as fds 0–3 and nothing else of the batch's (no other helper's set, no control
 * channel); the sets left closed at EOF on the control channel, and the batch gone once its
 * helpers are.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";

const HELPER = join(import.meta.dir, "../../native/husk-helper");
const root = process.getuid?.() === 0;

/** Exactly n bytes from a non-blocking fd (Bun.spawn's socket ends), or what came before EOF. */
async function readBytes(fd: number, n: number, timeoutMs = 5000): Promise<Buffer> {
  const out = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + timeoutMs;
  while (got < n && Date.now() < deadline) {
    try {
      const r = readSync(fd, out, got, n - got, null);
      if (r === 0) break;
      got += r;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      await Bun.sleep(5);
    }
  }
  return out.subarray(0, got);
}

/** Until helper `pid` waits for its plan: its network namespace made ahead is its last step before. */
async function ready(pid: number): Promise<void> {
  const host = readlinkSync("/proc/self/ns/net");
  for (let i = 0; i < 500 && readlinkSync(`/proc/${pid}/ns/net`) === host; i++) await Bun.sleep(2);
}

async function record(fd: number): Promise<[number, number, number]> {
  const r = await readBytes(fd, 12);
  expect(r.length).toBe(12);
  return [r.readUInt32LE(0), r.readInt32LE(4), r.readInt32LE(8)];
}

test.skipIf(!root)("helpers forked one per request, each with only its own set; EOF closes the rest", async () => {
  // Shape "npp": stdin /dev/null, stdout and stderr pipes; a set is stdout, stderr, sync.
  const count = 3;
  const width = 3;
  const proc = Bun.spawn([HELPER, "--batch", String(count), "npp"], {
    stdio: ["ignore", "ignore", "ignore", ...Array.from({ length: count * width + 1 }, () => "pipe" as const)],
  });
  const fd = (n: number) => proc.stdio[n] as unknown as number;
  const control = fd(3 + count * width);
  // Each of our ends closed once: a number closed twice might be another file of this process's by then.
  const open = new Set(Array.from({ length: count * width + 1 }, (_, i) => fd(3 + i)));
  const close = (f: number) => {
    if (open.delete(f)) closeSync(f);
  };
  try {
    // Nothing is forked before it is asked for.
    await Bun.sleep(50);
    expect(readdirSync("/proc").filter((p) => /^\d+$/.test(p) && parentOf(p) === proc.pid)).toEqual([]);
    writeSync(control, "f");
    const [type, index, pid] = await record(control);
    expect([type, index]).toEqual([1, 0]);
    expect(parentOf(String(pid))).toBe(proc.pid);
    expect(readFileSync(`/proc/${pid}/comm`, "utf8")).toBe("husk-helper\n");
    await ready(pid);
    // Its fds: 0 /dev/null, 1, 2 and 3 sockets (its set), and 4 the network namespace it came
    // from (kept to go back to after clone, see make_netns_ahead): nothing else.
    const fds = readdirSync(`/proc/${pid}/fd`)
      .map(Number)
      .sort((a, b) => a - b);
    expect(fds).toEqual([0, 1, 2, 3, 4]);
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe("/dev/null");
    for (const n of [1, 2, 3]) expect(readlinkSync(`/proc/${pid}/fd/${n}`)).toMatch(/^socket:/);
    const hostNet = readlinkSync("/proc/self/ns/net");
    expect(readlinkSync(`/proc/${pid}/fd/4`)).toBe(hostNet);
    // It waits for a plan in a network namespace made ahead, as a --netns-ahead helper does.
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(hostNet);
    // Its sync channel closed before a plan: it exits 1 (quietly), and the batch says so.
    close(fd(3 + 2));
    expect(await record(control)).toEqual([2, 0, 1]);
    // The second comes when asked, with the second set.
    writeSync(control, "f");
    const [, second, pid2] = await record(control);
    expect(second).toBe(1);
    await ready(pid2);
    expect(readdirSync(`/proc/${pid2}/fd`).length).toBe(5);
    // EOF on the control channel: the third set (never forked) is closed, its sync end reads EOF.
    close(control);
    expect((await readBytes(fd(3 + 2 * width + 2), 1)).length).toBe(0);
    // The batch stays while its helper runs, and goes after it.
    expect(proc.exitCode).toBeNull();
    close(fd(3 + width + 2));
    expect(await proc.exited).toBe(0);
  } finally {
    // Our ends closed, its helpers exit and it reaps them; killed only if it does not end
    // (killed first, it would leave them to init).
    for (const f of [...open]) close(f);
    const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!ended) proc.kill("SIGKILL");
  }
});

test.skipIf(!root)(
  "it ends when its caller goes, whether it hears of the exit or of EOF first; nothing leaked to it stays",
  async () => {
    for (let round = 0; round < 5; round++) {
      // Shape "nnn": a set is the sync channel alone. An fd above the control channel: a leak.
      const leak = openSync("/dev/null", "r");
      const proc = Bun.spawn([HELPER, "--batch", "2", "nnn"], {
        stdio: ["ignore", "ignore", "ignore", "pipe", "pipe", "pipe", leak],
      });
      closeSync(leak);
      const [sync0, sync1, control] = [3, 4, 5].map((n) => proc.stdio[n] as unknown as number) as [number, number, number];
      try {
        writeSync(control, "f");
        const [type, , pid] = await record(control);
        expect(type).toBe(1);
        await ready(pid);
        // (its own fds above the control channel are its signalfd, nothing of ours)
        const above = readdirSync(`/proc/${proc.pid}/fd`).filter((n) => Number(n) > 5);
        expect(above.map((n) => readlinkSync(`/proc/${proc.pid}/fd/${n}`))).toEqual(["anon_inode:[signalfd]"]);
        // The helper's exit and the caller's going at once: its status may find no one to read it.
        closeSync(sync0);
        closeSync(control);
        const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
        expect(ended).toBe(true);
      } finally {
        closeSync(sync1);
        proc.kill("SIGKILL");
      }
    }
  },
);

test.skipIf(!root)("a bad count or shape is refused as a usage error", () => {
  for (const args of [
    ["0", "nnn"],
    ["65", "nnn"],
    ["2", "nnx"],
    ["2", "nn"],
  ]) {
    const r = Bun.spawnSync([HELPER, "--batch", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("usage: husk-helper --batch");
  }
});

function parentOf(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
