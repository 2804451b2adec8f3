/**
 * The helper's contract is written once (src/helper/wire.ts): the committed native/wire.h must
 * be what it generates, and every op it lists must have exactly one C function.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { WIRE } from "../../src/helper/wire.ts";
import { cFunction, WIRE_HEADER_PATH, wireHeader } from "../../src/helper/wire-header.ts";

const NATIVE = join(import.meta.dir, "../../native");

test("native/wire.h is generated from wire.ts (npm run gen-wire)", () => {
  expect(readFileSync(WIRE_HEADER_PATH, "utf8")).toBe(wireHeader());
});

test("op codes are unique", () => {
  const codes = Object.values(WIRE).map((d) => d.code);
  expect(new Set(codes).size).toBe(codes.length);
});

test("every op has one C function, and the helper defines no op the wire does not list", () => {
  const sources = readdirSync(NATIVE)
    .filter((f) => f.endsWith(".c"))
    .map((f) => readFileSync(join(NATIVE, f), "utf8"))
    .join("\n");
  const defined = [...sources.matchAll(/^int (op_\w+)\(const struct field \*f\)$/gm)].map((m) => m[1]).sort();
  const listed = Object.keys(WIRE).map(cFunction).sort();
  expect(defined).toEqual(listed);
});
