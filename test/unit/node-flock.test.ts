/**
 * Node's flock, checked under Node itself (sys/node.ts bundled for it). native/husk-flock.node,
 * beside the helper: flock(2) in the process, no other process started; a lock held elsewhere
 * is waited for without blocking the event loop. Without it (a helper in a directory with no
 * such module), the fallback: the helper's --flocks process takes one lock after another for a
 * caller that keeps a LockReuse, so a lock costs no process start. Both: the lock excludes
 * others (flock(1) -n fails while held) and a release really releases; the --flocks process
 * stays, is reused, and an idle one does not keep Node from exiting; a parked one ends after
 * 2 s unused, or at once by endHolders.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "../..");
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "husk-node-flock-"));
  const built = await Bun.build({ entrypoints: [join(REPO, "src/sys/node.ts")], outdir: dir, target: "node", format: "esm" });
  if (!built.success) throw new Error(built.logs.join("\n"));
  // The fallback's helper: a copy in a directory without husk-flock.node.
  copyFileSync(join(REPO, "native/husk-helper"), join(dir, "husk-helper"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasNode = spawnSync("sh", ["-c", "command -v node && command -v flock"]).status === 0;

test.skipIf(!hasNode)("one --flocks helper serves lock after lock, and releasing releases", () => {
  const script = `
import { execFileSync } from "node:child_process";
import { lockExclusive } from "./node.js";
const helper = ${JSON.stringify(join(dir, "husk-helper"))};
const a = ${JSON.stringify(dir)}, b = "/tmp";
const free = (p) => { try { execFileSync("flock", ["-n", p, "true"]); return true; } catch { return false; } };
const holders = () => execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)]).toString().split("\\n").filter((l) => l.includes("--flocks")).map((l) => l.trim().split(" ")[0]);
const reuse = {};
const out = [];
let release = await lockExclusive(a, helper, reuse);
out.push(free(a) ? "a free while held" : "a held");
const first = holders();
release();
await new Promise((r) => setTimeout(r, 50));
out.push(free(a) ? "a released" : "a still held");
release = await lockExclusive(b, helper, reuse);
out.push(free(b) ? "b free while held" : "b held");
out.push(JSON.stringify(holders()) === JSON.stringify(first) && first.length === 1 ? "same holder" : "other holders " + first + " " + holders());
release();
await lockExclusive("/nonexistent-husk-path", helper, reuse).then(() => out.push("locked a missing path"), () => out.push("missing path refused"));
release = await lockExclusive(a, helper, reuse);
release();
console.log(out.join("; "));
`;
  writeFileSync(join(dir, "t.mjs"), script);
  const r = spawnSync("node", [join(dir, "t.mjs")], { encoding: "utf8", timeout: 20000 });
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe("a held; a released; b held; same holder; missing path refused");
  // It exited by itself with a holder parked (timeout would have killed it: signal set).
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
});

test.skipIf(!hasNode)("a parked holder ends once unused for 2 s, or at once by endHolders", () => {
  const script = `
import { execFileSync } from "node:child_process";
import { endHolders, lockExclusive } from "./node.js";
const helper = ${JSON.stringify(join(dir, "husk-helper"))};
const a = ${JSON.stringify(dir)};
const holders = () => execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)]).toString().split("\\n").filter((l) => l.includes("--flocks")).length;
const out = [];
// An owner dropped without its idle(): its parked holder goes by itself.
const dropped = {};
(await lockExclusive(a, helper, dropped))();
out.push(holders());
await new Promise((r) => setTimeout(r, 2500));
out.push(holders());
// endHolders: at once, and the next lock starts a new one.
const kept = {};
(await lockExclusive(a, helper, kept))();
out.push(holders());
await endHolders(kept);
out.push(holders());
(await lockExclusive(a, helper, kept))();
out.push(holders());
await endHolders(kept);
console.log(out.join(" "));
`;
  writeFileSync(join(dir, "idle.mjs"), script);
  const r = spawnSync("node", [join(dir, "idle.mjs")], { encoding: "utf8", timeout: 20000 });
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe("1 0 1 0 1");
});

test.skipIf(!hasNode)(
  "husk-flock.node: flock in the process, waited for while another process holds it, no helper started",
  () => {
    const script = `
import { execFileSync, spawn } from "node:child_process";
import { lockExclusive } from "./node.js";
const helper = ${JSON.stringify(join(REPO, "native/husk-helper"))};
const a = ${JSON.stringify(dir)};
const free = (p) => { try { execFileSync("flock", ["-n", p, "true"]); return true; } catch { return false; } };
const children = () => execFileSync("ps", ["-o", "comm=", "--ppid", String(process.pid)]).toString().split("\\n").filter((c) => c.trim() !== "" && c.trim() !== "ps").length;
const out = [];
let release = await lockExclusive(a, helper);
out.push(free(a) ? "a free while held" : "a held");
out.push(children() === 0 ? "no helper" : "a helper ran");
release();
release();
out.push(free(a) ? "a released" : "a still held");
// Held by another process for 300 ms: the lock waits, and the event loop runs meanwhile.
const other = spawn("flock", [a, "sleep", "0.3"], { stdio: "ignore" });
const otherExited = new Promise((r) => other.once("exit", r));
while (free(a)) await new Promise((r) => setTimeout(r, 5));
let ticks = 0;
const timer = setInterval(() => ticks++, 10);
const t = performance.now();
release = await lockExclusive(a, helper);
const waited = performance.now() - t;
clearInterval(timer);
out.push(waited > 100 && ticks > 5 ? "waited, loop ran" : "waited " + waited + " ms, " + ticks + " ticks");
release();
await otherExited;
await lockExclusive("/nonexistent-husk-path", helper).then(() => out.push("locked a missing path"), (e) => out.push(e.code));
console.log(out.join("; "));
`;
    writeFileSync(join(dir, "addon.mjs"), script);
    const r = spawnSync("node", [join(dir, "addon.mjs")], { encoding: "utf8", timeout: 20000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("a held; no helper; a released; waited, loop ran; ENOENT");
    expect(r.status).toBe(0);
  },
);
