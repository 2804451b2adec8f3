/** The library scenarios (scenarios.mjs) under Node's test runner; test/run.sh runs this file. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { scenarios } from "./scenarios.mjs";

const asserts = {
  equal: (a, b) => assert.equal(a, b),
  ok: (v, why) => assert.ok(v, why),
  rejects: (p, re) => assert.rejects(p, re),
};

const root = process.geteuid?.() === 0;
for (const [name, run] of Object.entries(scenarios)) {
  test(`library on Node > ${name}`, { skip: root ? false : "needs root for namespaces and mounts" }, () => run(asserts));
}
