/** The library scenarios (scenarios.mjs) under Bun; runtime.node.mjs runs them under Node. */
import { expect, test } from "bun:test";
import { describeAsRoot } from "../fixtures/husk.ts";
import { scenarios } from "./scenarios.mjs";

const assert = {
  equal: (a: unknown, b: unknown) => expect(a).toBe(b),
  ok: (v: unknown, why?: string) => expect(v, why).toBeTruthy(),
  rejects: async (p: Promise<unknown>, re: RegExp) => {
    await expect(p).rejects.toThrow(re);
  },
};

describeAsRoot("library on Bun", () => {
  for (const [name, run] of Object.entries(scenarios)) test(name, () => run(assert));
});
