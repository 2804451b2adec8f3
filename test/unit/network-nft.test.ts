/**
 * husk's nftables scripts: one table of its own, rules that never change per container, and
 * per-network and per-container changes as set and map elements (removals "add then delete",
 * so a missing element is no error).
 */
import { expect, test } from "bun:test";
import {
  addPortsScript,
  checkTableName,
  deletePortsScript,
  deleteTableScript,
  removeNetworkScript,
  setupScript,
} from "../../src/network/nft.ts";

test("setup: the table, its sets, maps and chains, the rules replaced, the network's elements", () => {
  const script = setupScript("husk", { subnet: "10.90.0.0/16", bridge: "husk0" });
  const lines = script.trim().split("\n");
  // Nothing outside the table is named.
  expect(lines.every((l) => / inet husk( |$)/.test(l))).toBe(true);
  expect(lines).toContain("add chain inet husk postrouting { type nat hook postrouting priority srcnat; policy accept; }");
  expect(lines).toContain("flush chain inet husk postrouting");
  expect(lines).toContain("add rule inet husk postrouting ip saddr @nets4 oifname != @bridges masquerade");
  expect(lines).toContain("add rule inet husk postrouting ip saddr 127.0.0.0/8 oifname @bridges masquerade");
  expect(lines).toContain("add rule inet husk output fib daddr type local dnat ip to meta l4proto . th dport map @ports4");
  expect(lines.slice(-2)).toEqual(["add element inet husk nets4 { 10.90.0.0/16 }", 'add element inet husk bridges { "husk0" }']);
  // Rules are flushed before they are added: running it twice leaves one copy.
  const flushAt = lines.indexOf("flush chain inet husk output");
  expect(flushAt).toBeLessThan(lines.findIndex((l) => l.startsWith("add rule inet husk output")));
});

test("ports: one map element each, on every host address or on one", () => {
  const script = addPortsScript("husk", [
    { proto: "tcp", hostIp: "", hostPort: 8080, address: "10.90.0.2", containerPort: 80 },
    { proto: "udp", hostIp: "127.0.0.1", hostPort: 5353, address: "10.90.0.2", containerPort: 53 },
  ]);
  expect(script).toBe(
    "add element inet husk ports4 { tcp . 8080 : 10.90.0.2 . 80 }\n" +
      "add element inet husk hostports4 { 127.0.0.1 . udp . 5353 : 10.90.0.2 . 53 }\n",
  );
  expect(deletePortsScript("husk", [{ proto: "tcp", hostIp: "", hostPort: 8080, address: "10.90.0.2", containerPort: 80 }])).toBe(
    "add element inet husk ports4 { tcp . 8080 : 10.90.0.2 . 80 }\ndelete element inet husk ports4 { tcp . 8080 }\n",
  );
  expect(deletePortsScript("husk", [])).toBe("");
});

test("removals add first: a network or table already gone is not an error", () => {
  expect(removeNetworkScript("husk", { subnet: "10.90.0.0/16", bridge: "husk0" })).toContain(
    'add element inet husk nets4 { 10.90.0.0/16 }\nadd element inet husk bridges { "husk0" }\ndelete element inet husk nets4 { 10.90.0.0/16 }\n',
  );
  expect(deleteTableScript("husk_t1")).toBe("add table inet husk_t1\ndelete table inet husk_t1\n");
});

test("table names are identifiers: nothing can be spliced into a script", () => {
  expect(checkTableName("husk_test_1")).toBe("husk_test_1");
  for (const bad of ["", "husk; flush ruleset", "a b", "1abc", "husk-test"])
    expect(() => checkTableName(bad)).toThrow(/invalid nftables table/);
});
