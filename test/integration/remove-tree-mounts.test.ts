/**
 * The helper's --remove (native/remove.c) stays on the tree's own filesystem: a mount found
 * inside the tree (someone's bind mount, a tmpfs) is left with all that is in it, and the
 * answer says EXDEV; the rest of the tree goes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HELPER = join(import.meta.dir, "../../native/husk-helper");
const root = process.getuid?.() === 0;
let dir: string;
let mounted = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-remove-mounts-"));
});
afterAll(() => {
  if (mounted) spawnSync("umount", [mounted]);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!root)("a mount inside the tree is left alone", () => {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "rootfs"), { recursive: true });
  writeFileSync(join(tree, "config.json"), "{}");
  mounted = join(tree, "rootfs");
  expect(spawnSync("mount", ["-t", "tmpfs", "tmpfs", mounted]).status).toBe(0);
  writeFileSync(join(mounted, "theirs"), "theirs");
  const r = spawnSync(HELPER, ["--remove"], { input: `${tree}\n`, encoding: "utf8" });
  expect(r.stdout).toBe("18\n"); // EXDEV
  expect(readFileSync(join(mounted, "theirs"), "utf8")).toBe("theirs");
  expect(existsSync(join(tree, "config.json"))).toBe(false);
  expect(spawnSync("umount", [mounted]).status).toBe(0);
  mounted = "";
  const again = spawnSync(HELPER, ["--remove"], { input: `${tree}\n`, encoding: "utf8" });
  expect(again.stdout).toBe("0\n");
  expect(existsSync(tree)).toBe(false);
});
