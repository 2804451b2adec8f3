import { expect, test } from "bun:test";
import { DetachKeyFilter, parseDetachKeys } from "../../src/engine/detach-keys.ts";

test("detach keys in docker's syntax: ctrl-<x> and single characters, ctrl-p,ctrl-q by default", () => {
  expect([...parseDetachKeys()]).toEqual([0x10, 0x11]);
  expect([...parseDetachKeys("ctrl-a,x,ctrl-@,ctrl-_,CTRL-Z")]).toEqual([0x01, 0x78, 0x00, 0x1f, 0x1a]);
  expect([...parseDetachKeys("ctrl-[,ctrl-\\,ctrl-],ctrl-^")]).toEqual([0x1b, 0x1c, 0x1d, 0x1e]);
});

test("a bad detach key is one error naming the option and the key", () => {
  for (const bad of ["", "ctrl-pq", "ctrl-1", "ab", "ctrl-p,", "é"]) {
    expect(() => parseDetachKeys(bad)).toThrow(/invalid detach key/);
    try {
      parseDetachKeys(bad);
    } catch (err) {
      expect((err as { origin?: string }).origin).toBe("RunOptions.detachKeys");
    }
  }
});

test("the filter holds a possible start, lets a broken sequence through whole, and never passes the keys", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const f = new DetachKeyFilter(parseDetachKeys());
  expect(f.push(bytes("abc"))).toEqual({ out: bytes("abc"), detach: false });
  // ^P held across writes, then not followed by ^Q: both go on, the key after it too.
  expect(text(f.push(bytes("x\x10")).out)).toBe("x");
  expect(text(f.push(bytes("y")).out)).toBe("\x10y");
  // ^P^P: the first goes on, the second may start the sequence.
  expect(text(f.push(bytes("\x10\x10")).out)).toBe("\x10");
  const end = f.push(bytes("\x11after"));
  expect(end.detach).toBe(true);
  expect(text(end.out)).toBe("");
  const g = new DetachKeyFilter(parseDetachKeys("ctrl-x,q"));
  expect(g.push(bytes("a\x18qz"))).toEqual({ out: bytes("a"), detach: true });
});
