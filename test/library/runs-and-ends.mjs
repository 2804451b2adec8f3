/**
 * For the spare helper scenario: three containers one after another over the roots given in
 * argv, then the end of this process's code with the helper started for a fourth waiting (no
 * idle()). Prints one JSON line: the spare's pid, then how long after its last line of code the
 * process exited.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Engine } from "../../dist/lib/index.js";

const [dataRoot, stateRoot] = process.argv.slice(2);
const engine = new Engine({ dataRoot, stateRoot, nftTable: "husk_lib_test", ipForward: false });
for (let i = 0; i < 3; i++) await engine.run("busybox", ["true"], { network: "none" });

/** This process's helpers for containers. */
function helpers() {
  const found = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // A helper for containers (husk-helper <syncfd>), not one of Node's parked --flocks ones.
      const launcher = /^\d+$/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[1] ?? "");
      if (Number(ppid) === process.pid && state !== "Z" && stat.includes("(husk-helper)") && launcher) found.push(Number(pid));
    } catch {}
  }
  return found;
}
let spare = helpers();
for (let i = 0; i < 100 && spare.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 10));
  spare = helpers();
}
const end = performance.now();
process.on("exit", () => console.log(JSON.stringify({ spare, exitMs: performance.now() - end })));
