/**
 * Path resolution inside the rootfs against hostile symlink trees. The helper resolves every
 * Where.InRoot path with openat2(RESOLVE_IN_ROOT); these plans need no root and no namespace:
 * the helper runs the ops itself (there is no clone), so only the resolution is exercised.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "../../src/helper/driver.ts";
import type { Plan } from "../../src/plan/ops.ts";

let base: string;
let root: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "husk-resolve-"));
  root = join(base, "rootfs");
  outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "host file");
  symlinkSync(outside, join(root, "abs")); // absolute link to the host dir
  symlinkSync("../../outside", join(root, "rel")); // relative escape through ..
  symlinkSync("/", join(root, "slash"));
  symlinkSync("abs/secret", join(root, "chain"));
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

async function runPlan(plan: Plan): Promise<{ error?: string }> {
  try {
    const launched = await launch(plan, { preserveFds: 0 });
    await launched.exited;
    return {};
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const open = (): Plan => [{ what: "open root", op: { op: "openRoot", path: root } }];

describe("in-root resolution", () => {
  // Each hostile op is paired with a control: the same op succeeds, and does its work inside the
  // root, once its target exists there. A helper that refused every op would fail the controls.

  test("control: mkdirAll, mkfile, symlink and writeFile on plain paths do their work", async () => {
    const r = await runPlan([
      ...open(),
      { what: "mkdir", op: { op: "mkdirAll", path: "/a/b/c", mode: 0o755 } },
      { what: "mkfile", op: { op: "mkfile", path: "/a/file", mode: 0o644 } },
      { what: "symlink", op: { op: "symlink", target: "/etc/passwd", path: "/a/link" } },
      { what: "write", op: { op: "writeFile", path: "/a/file", where: 1, data: "written" } },
    ]);
    expect(r.error).toBeUndefined();
    expect(lstatSync(join(root, "a/b/c")).isDirectory()).toBe(true);
    expect(readFileSync(join(root, "a/file"), "utf8")).toBe("written");
    expect(readlinkSync(join(root, "a/link"))).toBe("/etc/passwd");
  });

  test("mkdirAll through an absolute symlink stays inside the root", async () => {
    // The link's target, read inside the root, does not exist there: refused, nothing made.
    const r = await runPlan([...open(), { what: "mkdir", op: { op: "mkdirAll", path: "/abs/x/y", mode: 0o755 } }]);
    expect(r.error).toBe("mkdir: no such file or directory (ENOENT)");
    expect(readdirSync(outside)).toEqual(["secret"]);
    // With it present inside the root, the link is followed there.
    mkdirSync(join(root, outside), { recursive: true });
    const inside = await runPlan([...open(), { what: "mkdir", op: { op: "mkdirAll", path: "/abs/x/y", mode: 0o755 } }]);
    expect(inside.error).toBeUndefined();
    expect(lstatSync(join(root, outside, "x/y")).isDirectory()).toBe(true);
    expect(readdirSync(outside)).toEqual(["secret"]);
  });

  test("mkdirAll through a .. symlink stays inside the root", async () => {
    const r = await runPlan([...open(), { what: "mkdir", op: { op: "mkdirAll", path: "/rel/x", mode: 0o755 } }]);
    expect(r.error).toBe("mkdir: no such file or directory (ENOENT)");
    expect(readdirSync(outside)).toEqual(["secret"]);
    // "../../outside" from the root's top is the root's own /outside.
    mkdirSync(join(root, "outside"));
    const inside = await runPlan([...open(), { what: "mkdir", op: { op: "mkdirAll", path: "/rel/x", mode: 0o755 } }]);
    expect(inside.error).toBeUndefined();
    expect(lstatSync(join(root, "outside/x")).isDirectory()).toBe(true);
    expect(readdirSync(outside)).toEqual(["secret"]);
    expect(existsSync(join(base, "x"))).toBe(false);
  });

  test("a literal .. path cannot climb out", async () => {
    const r = await runPlan([...open(), { what: "mkdir", op: { op: "mkdirAll", path: "/../../escaped", mode: 0o755 } }]);
    expect(r.error).toBeUndefined();
    expect(existsSync(join(base, "escaped"))).toBe(false);
    expect(existsSync(join(tmpdir(), "escaped"))).toBe(false);
    expect(existsSync(join(root, "escaped"))).toBe(true);
  });

  test("mkfile and symlink through / land in the root", async () => {
    const r = await runPlan([
      ...open(),
      { what: "mkfile", op: { op: "mkfile", path: "/slash/newfile", mode: 0o644 } },
      { what: "symlink", op: { op: "symlink", target: "/etc/passwd", path: "/slash/link" } },
    ]);
    expect(r.error).toBeUndefined();
    expect(lstatSync(join(root, "newfile")).isFile()).toBe(true);
    expect(lstatSync(join(root, "link")).isSymbolicLink()).toBe(true);
    expect(existsSync("/newfile")).toBe(false);
  });

  test("writeFile through a symlink chain never writes the host file", async () => {
    const write: Plan = [...open(), { what: "write", op: { op: "writeFile", path: "/chain", where: 1, data: "pwned" } }];
    // chain → abs/secret → <outside>/secret, read inside the root: not there, refused.
    expect((await runPlan(write)).error).toBe("write: no such file or directory (ENOENT)");
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host file");
    // With the chain's end present inside the root, that file is the one written.
    mkdirSync(join(root, outside), { recursive: true });
    writeFileSync(join(root, outside, "secret"), "decoy");
    expect((await runPlan(write)).error).toBeUndefined();
    expect(readFileSync(join(root, outside, "secret"), "utf8")).toBe("pwned");
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host file");
  });

  test("a failure names the step", async () => {
    writeFileSync(join(root, "file"), "");
    const r = await runPlan([
      ...open(),
      { what: 'create mount point "/file/x"', origin: "mounts[3]", op: { op: "mkdirAll", path: "/file/x", mode: 0o755 } },
    ]);
    expect(r.error).toBe('create mount point "/file/x" (mounts[3]): not a directory (ENOTDIR)');
  });
});
