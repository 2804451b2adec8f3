/**
 * The helper's plan decoder and its refusals: whatever arrives on the plan channel gives a
 * clean exit (0 for a plan it ran, 1 for a failed step, 2 for a malformed plan), never a
 * crash or a hang; and ids the kernel cannot set are refused by the helper itself.
 *
 * The fuzzed helpers run in namespaces of their own (user, mount, uts, ipc, net, pid), so a
 * mutation that happens to decode as a real plan cannot touch the host.
 */
import { expect, test } from "bun:test";
import { closeSync, writeSync } from "node:fs";
import { helperPath, launch } from "../../src/helper/driver.ts";
import { encodePlan } from "../../src/helper/encode.ts";
import type { Plan } from "../../src/plan/ops.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { prng } from "../fixtures/prng.ts";

function withLength(body: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

/** Harmless ops whose encoding the mutations start from. */
const SEED_PLAN: Plan = [
  { what: "umask", op: { op: "umask", mask: 0o22 } },
  { what: "setsid", op: { op: "setsid" } },
  { what: "closeFrom", op: { op: "closeFrom", first: 100 } },
  { what: "chdir", op: { op: "chdir", path: "/", optional: true } },
  { what: "setgroups", op: { op: "setgroups", gids: [0] } },
];

/** The cases: random streams, random bodies, and mutations of a valid plan. */
function fuzzCases(count: number, seed: number): Buffer[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const valid = withLength(encodePlan(SEED_PLAN));
  const cases: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    switch (k % 5) {
      case 0: // anything at all
        cases.push(bytes(int(64)));
        break;
      case 1: // a right length, a random body
        cases.push(withLength(bytes(int(128))));
        break;
      case 2: // a right header, random ops
        cases.push(withLength(Buffer.concat([Buffer.from("HUSKPLAN"), Buffer.from([1, 0, 0, 0]), bytes(int(96))])));
        break;
      case 3: {
        // one to four bytes of a valid plan changed (length prefix included)
        const b = Buffer.from(valid);
        for (let n = 1 + int(4); n > 0; n--) b[int(b.length)] = int(256);
        cases.push(b);
        break;
      }
      default: // a valid plan cut short, or with bytes added
        cases.push(rnd() < 0.5 ? valid.subarray(0, int(valid.length)) : Buffer.concat([valid, bytes(1 + int(8))]));
    }
  }
  return cases;
}

/** Feed one case to a sandboxed helper; its exit code (128+N if killed by N) and stderr. */
async function feed(input: Buffer): Promise<{ code: number; stderr: string }> {
  const sandbox = ["unshare", "--user", "--map-root-user", "--mount", "--uts", "--ipc", "--net", "--pid", "--kill-child"];
  // As spawnHelper does it, with stderr collected: the sync channel is the socket at fd 3.
  const proc = Bun.spawn([...sandbox, helperPath(), "3"], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  const fd = proc.stdio[3] as unknown as number;
  try {
    writeSync(fd, input);
  } catch {
    // the helper may have refused and left before reading it all
  }
  closeSync(fd);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
  const [stderr] = await Promise.all([new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  clearTimeout(timer);
  return { code: proc.signalCode ? 128 : (proc.exitCode ?? 128), stderr };
}

describeAsRoot("plan decoder", () => {
  test("2,000 seeded random and mutated plans: every one exits 0, 1 or 2, none crashes or hangs", async () => {
    const cases = fuzzCases(2000, 20261206);
    const bad: string[] = [];
    const width = 16;
    for (let start = 0; start < cases.length; start += width) {
      const batch = cases.slice(start, start + width);
      const results = await Promise.all(batch.map(feed));
      results.forEach((r, i) => {
        // A refusal is one line on stderr; a crash or a hang is a bug.
        if (![0, 1, 2].includes(r.code) || r.stderr.split("\n").filter(Boolean).length > 1)
          bad.push(`case ${start + i} (${batch[i]?.toString("hex")}): exit ${r.code}: ${r.stderr}`);
      });
    }
    expect(bad).toEqual([]);
  });

  test("a uid or gid the kernel cannot set is refused by the helper, not left as root", async () => {
    for (const op of [
      { op: "setresuid" as const, uid: 4294967295 },
      { op: "setresgid" as const, gid: 4294967295 },
      { op: "setresuid" as const, uid: -1 },
    ]) {
      const plan: Plan = [{ what: `set ${JSON.stringify(op)}`, errors: { EINVAL: "cannot be set" }, op }];
      await expect(launch(plan, { preserveFds: 0 })).rejects.toThrow(/cannot be set/);
    }
  });
});
