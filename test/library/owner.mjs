/**
 * For the "dies with its owner" scenarios: spawn a streaming container over the roots given in
 * argv (after three quick ones with "spare", so that its helper is one started ahead) and print
 * one JSON line per line it outputs, until this process is killed.
 */
import { Engine } from "../../dist/lib/index.js";

const [dataRoot, stateRoot, spare] = process.argv.slice(2);
const engine = new Engine({ dataRoot, stateRoot, nftTable: "husk_lib_test", ipForward: false });
if (spare === "spare") for (let i = 0; i < 3; i++) await engine.run("busybox", ["true"], { network: "none" });
const p = await engine.spawn("busybox", ["sh", "-c", "while true; do echo tick; sleep 0.1; done"], { network: "none" });
for await (const { line } of p.lines()) console.log(JSON.stringify({ pid: p.pid, line }));
