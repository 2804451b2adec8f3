/**
 * Deleting a removed container's directory: the helper's --remove mode (native/remove.c),
 * which Node's removeTree (sys/node.ts) hands trees to. It deletes the whole tree, a tree
 * nested deeper than a path can name included, and follows no symlink out of it (to a
 * directory or a file); it answers "0" for a path that is not there and EINVAL for a relative
 * one or "/". Under Node one process serves many removals, goes once unused, and endRemover
 * ends it at once. The mount case (a mount inside is left alone) needs root:
 * test/integration/remove-tree-mounts.test.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "../..");
const HELPER = join(REPO, "native/husk-helper");
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "husk-remove-tree-"));
  const built = await Bun.build({
    entrypoints: [join(REPO, "src/sys/node.ts")],
    outdir: join(dir, "lib"),
    target: "node",
    format: "esm",
  });
  if (!built.success) throw new Error(built.logs.join("\n"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tree with nested directories, many files, and symlinks out of it; and what they point at. */
function makeTree(name: string): { tree: string; outside: string; outsideFile: string } {
  const tree = join(dir, name);
  const outside = join(dir, `${name}-outside`);
  mkdirSync(join(tree, "upper/etc/deep/er"), { recursive: true });
  mkdirSync(join(tree, "work/work"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "keep"), "keep");
  const outsideFile = join(dir, `${name}-file`);
  writeFileSync(outsideFile, "keep");
  for (let i = 0; i < 200; i++) writeFileSync(join(tree, "upper/etc", `f${i}`), "x");
  writeFileSync(join(tree, "upper/etc/deep/er/f"), "x");
  symlinkSync(outside, join(tree, "upper/to-dir"));
  symlinkSync(outsideFile, join(tree, "upper/etc/to-file"));
  symlinkSync("/", join(tree, "upper/etc/deep/root"));
  return { tree, outside, outsideFile };
}

test("--remove deletes a whole tree and nothing its symlinks point at", () => {
  const { tree, outside, outsideFile } = makeTree("a");
  const input = [tree, join(dir, "missing"), "relative/path", "/", ""].join("\n");
  const r = spawnSync(HELPER, ["--remove"], { input, encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe("0\n0\n22\n22\n");
  expect(existsSync(tree)).toBe(false);
  expect(readFileSync(join(outside, "keep"), "utf8")).toBe("keep");
  expect(readFileSync(outsideFile, "utf8")).toBe("keep");
});

const hasPython = spawnSync("sh", ["-c", "command -v python3"]).status === 0;

test.skipIf(!hasPython)("--remove deletes a tree nested deeper than any path can name, leaving nothing beside it", () => {
  // 3000 levels (a container can nest directories without end): ~6000 bytes of path, past
  // PATH_MAX, where Node's own fs.rm fails with ENAMETOOLONG. Made by dir fd, as it must be.
  const holder = join(dir, "deep-holder");
  mkdirSync(holder);
  const make = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
`;
  mkdirSync(join(holder, "deep"));
  expect(spawnSync("python3", ["-c", make, join(holder, "deep")]).status).toBe(0);
  const r = spawnSync(HELPER, ["--remove"], { input: `${join(holder, "deep")}\n`, encoding: "utf8" });
  expect(r.stdout).toBe("0\n");
  expect(readdirSync(holder)).toEqual([]);
});

const hasNode = spawnSync("sh", ["-c", "command -v node"]).status === 0;

test.skipIf(!hasNode)("under Node, one --remove process serves removal after removal and ends when told or unused", () => {
  const trees = [makeTree("b1"), makeTree("b2"), makeTree("b3")];
  const script = `
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { endRemover, removeTree } from "./lib/node.js";
const helper = ${JSON.stringify(HELPER)};
const trees = ${JSON.stringify(trees.map((t) => t.tree))};
const removers = () => execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)]).toString().split("\\n").filter((l) => l.includes("--remove")).length;
const out = [];
const reuse = {};
await Promise.all([removeTree(trees[0], helper, reuse), removeTree(trees[1], helper, reuse)]);
out.push(trees.slice(0, 2).every((t) => !existsSync(t)) ? "removed" : "left");
out.push(removers());
await endRemover(reuse);
out.push(removers());
const dropped = {};
await removeTree(trees[2], helper, dropped);
out.push(existsSync(trees[2]) ? "left" : "removed");
out.push(removers());
await new Promise((r) => setTimeout(r, 2500));
out.push(removers());
console.log(out.join(" "));
`;
  writeFileSync(join(dir, "t.mjs"), script);
  const r = spawnSync("node", [join(dir, "t.mjs")], { encoding: "utf8", timeout: 20000 });
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe("removed 1 0 removed 1 0");
  expect(r.signal).toBeNull();
  for (const t of trees) expect(readFileSync(join(t.outside, "keep"), "utf8")).toBe("keep");
});
