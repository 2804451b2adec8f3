/**
 * Whether a v1 cgroup is paused, read from its freezer without waiting: FROZEN and FREEZING
 * (a freeze under way) both count when the cgroup itself is being frozen (self_freezing 1),
 * not when only a parent is; THAWED never. The answer must come at once: `state` asks it of
 * every container, and a library caller's event loop must not stop while a freeze settles.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupDir } from "../../src/cgroups/dir.ts";
import { isFrozen } from "../../src/cgroups/freezer.ts";
import { nodeCgroupFs } from "../../src/cgroups/fsio.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-freezer-state-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: [state: string, self: string, paused: boolean][] = [
  ["THAWED", "0", false],
  ["FROZEN", "1", true],
  ["FROZEN", "0", false],
  ["FREEZING", "1", true],
  ["FREEZING", "0", false],
];

for (const [state, self, paused] of cases) {
  test(`freezer.state ${state}, self_freezing ${self}: ${paused ? "paused" : "not paused"}`, () => {
    writeFileSync(join(dir, "freezer.state"), `${state}\n`);
    writeFileSync(join(dir, "freezer.self_freezing"), `${self}\n`);
    // Before, a FREEZING cgroup was polled with the thread blocked, and after a second of it an error.
    expect(isFrozen(new CgroupDir(nodeCgroupFs, dir, 1), "read")).toBe(paused);
  });
}
