/**
 * files.ts has two implementations, node:fs (the library's) and libc through bun:ffi (the
 * runtime CLI's on Bun): the same call must give the same result, and a failure the same
 * `code` and message, whichever runs. Real files, a fifo and /proc, no root needed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libcFiles } from "../../src/sys/bun-libc.ts";
import { type Files, nodeFiles } from "../../src/sys/files.ts";

let dir: string;
const impls: [string, Files][] = [
  ["node:fs", nodeFiles],
  ["libc", libcFiles()],
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "husk-files-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * What `fn` returns, or the code of what it throws and the start of its message (the strerror
 * wording after it differs between libuv and libc).
 */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: e.code, message: e.message.split(":")[0] };
  }
}

describe("files.ts: node:fs and libc agree", () => {
  test("readFile: a file, a large one, /proc, a missing one, a directory", () => {
    writeFileSync(join(dir, "small"), "héllo\n");
    writeFileSync(join(dir, "large"), "x".repeat(100_000));
    const paths = [join(dir, "small"), join(dir, "large"), "/proc/self/cgroup", join(dir, "missing"), dir];
    for (const path of paths) {
      const [node, libc] = impls.map(([, f]) => outcome(() => f.readFile(path)));
      expect(libc).toEqual(node);
    }
    expect(libcFiles().readFile(join(dir, "small"))).toBe("héllo\n");
  });

  test("exists, unlink and rmdir, with their refusals", () => {
    for (const [, f] of impls) {
      const sub = join(dir, "sub");
      mkdirSync(sub);
      writeFileSync(join(sub, "f"), "");
      expect(f.exists(join(sub, "f"))).toBe(true);
      expect(f.exists(join(sub, "nope"))).toBe(false);
      expect(outcome(() => f.rmdir(sub))).toMatchObject({ code: "ENOTEMPTY" });
      expect(outcome(() => f.unlink(join(sub, "nope")))).toMatchObject({ code: "ENOENT" });
      f.unlink(join(sub, "f"));
      f.rmdir(sub);
      expect(f.exists(sub)).toBe(false);
      expect(outcome(() => f.rmdir(sub))).toMatchObject({ code: "ENOENT" });
    }
    const [node, libc] = impls.map(([, f]) => outcome(() => f.unlink(join(dir, "nope"))));
    expect(libc).toEqual(node);
  });

  test("a path with a NUL byte is refused, not cut short", () => {
    writeFileSync(join(dir, "cut"), "");
    for (const [, f] of impls) {
      const path = `${join(dir, "cut")}\0rest`;
      expect(outcome(() => f.readFile(path))).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
      expect(outcome(() => f.unlink(path))).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
      expect(f.exists(path)).toBe(false);
    }
    expect(readFileSync(join(dir, "cut"), "utf8")).toBe("");
  });

  test("fsType is statfs's f_type", () => {
    for (const path of [dir, "/proc", "/sys/fs/cgroup"]) {
      const want = Number(statfsSync(path).type);
      for (const [, f] of impls) expect(f.fsType(path)).toBe(want);
    }
    for (const [, f] of impls) expect(outcome(() => f.fsType(join(dir, "missing")))).toMatchObject({ code: "ENOENT" });
  });

  test("writeFifo: ENXIO without a reader, the data with one", () => {
    const fifo = join(dir, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    for (const [, f] of impls) {
      expect(outcome(() => f.writeFifo(fifo, "0"))).toMatchObject({ code: "ENXIO" });
      const reader = openSync(fifo, "r+"); // O_RDWR: opening does not wait for a writer
      try {
        f.writeFifo(fifo, "0");
        const buf = Buffer.alloc(8);
        expect(readSync(reader, buf)).toBe(1);
        expect(buf.toString("utf8", 0, 1)).toBe("0");
      } finally {
        closeSync(reader);
      }
    }
  });

  test("write to an fd", () => {
    for (const [name, f] of impls) {
      const path = join(dir, `out-${name}`);
      const fd = openSync(path, "w");
      try {
        const data = Buffer.from("abcdef");
        let off = 0;
        while (off < data.length) off += f.write(fd, data, off);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(path, "utf8")).toBe("abcdef");
    }
  });
});
