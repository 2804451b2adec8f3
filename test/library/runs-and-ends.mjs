/**
 * For the spare helper scenario: three containers one after another over the roots given in
 * argv, then the end of this process's code with the helper started for a fourth waiting (no
 * idle()). Prints one JSON line: the spare's pid, then how long after its last line of code the
 * process exited.
 */
import { Engine } from "../../dist/lib/index.js";
import { helperChildren } from "./scenarios.mjs";

const [dataRoot, stateRoot] = process.argv.slice(2);
const engine = new Engine({ dataRoot, stateRoot, nftTable: "husk_lib_test", ipForward: false });
for (let i = 0; i < 3; i++) await engine.run("busybox", ["true"], { network: "none" });

let spare = helperChildren().map(Number);
for (let i = 0; i < 100 && spare.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 10));
  spare = helperChildren().map(Number);
}
const end = performance.now();
process.on("exit", () => console.log(JSON.stringify({ spare, exitMs: performance.now() - end })));
