/**
 * src/sys/posix-path.ts stands in for node:path on the runtime verbs' path: it must give the
 * same strings as node:path.posix, on the paths the runtime meets and on random ones made of
 * the characters that matter ("/", ".", names).
 */
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { basename, dirname, join, normalize } from "../../src/sys/posix-path.ts";

const PIECES = ["/", "/", "/", ".", "..", "a", "b", "husk", "..."];

/** A deterministic random path of up to 8 pieces (seeded, so that a failure can be replayed). */
function randomPaths(count: number, seed: number): string[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x;
  };
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let p = "";
    for (let k = next() % 9; k > 0; k--) p += PIECES[next() % PIECES.length];
    out.push(p);
  }
  return out;
}

const KNOWN = [
  "",
  "/",
  "//",
  "///",
  "/a",
  "//a",
  "///a",
  "a//b",
  "/a//b",
  "//a/b",
  "a/",
  "/a/",
  "./",
  "../",
  "..//a",
  "/run/husk/c1",
];

describe("posix-path: the strings node:path.posix gives", () => {
  const paths = [...KNOWN, ...randomPaths(20000, 7)];
  test("normalize", () => {
    for (const p of paths) expect([p, normalize(p)]).toEqual([p, posix.normalize(p)]);
  });
  test("dirname", () => {
    for (const p of paths) expect([p, dirname(p)]).toEqual([p, posix.dirname(p)]);
  });
  test("basename", () => {
    for (const p of paths) expect([p, basename(p)]).toEqual([p, posix.basename(p)]);
  });
  test("join, of two and of three", () => {
    const more = randomPaths(6000, 11);
    for (let i = 0; i + 2 < more.length; i += 3) {
      const [a, b, c] = [more[i] as string, more[i + 1] as string, more[i + 2] as string];
      expect([a, b, join(a, b)]).toEqual([a, b, posix.join(a, b)]);
      expect([a, b, c, join(a, b, c)]).toEqual([a, b, c, posix.join(a, b, c)]);
    }
    expect(join()).toBe(posix.join());
  });
});
