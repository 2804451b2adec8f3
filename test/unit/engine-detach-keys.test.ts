import { expect, test } from "bun:test";
import { parseDetachKeys } from "../../src/engine/detach-keys.ts";

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
