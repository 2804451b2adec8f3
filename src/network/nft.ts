/**
 * husk's nftables rules: one table of its own (family inet, `husk` unless told otherwise) and
 * nothing outside it. The rules never change per container; what changes are set and map
 * elements, so a network or a container costs one `nft -f` of elements, each script one
 * transaction (all of it applies or none):
 *
 *   set nets4        the networks' subnets          postrouting: from a subnet, leaving by
 *   set bridges      their bridges                  another interface → masquerade
 *   map ports4       proto . port → addr . port     published on every host address (fib local)
 *   map hostports4   host addr . proto . port → …   published on one host address
 *
 * DNAT runs at prerouting (from outside, from containers) and output (from the host itself,
 * 127.0.0.1 included). A packet from 127.0.0.1 may leave by a bridge only with route_localnet on
 * that bridge, and is masqueraded to the bridge's address there so the container can answer.
 *
 * Removals are written "add, then delete": an element already gone is not an error, and the
 * transaction stays all-or-nothing.
 */
import { HuskError } from "../errors.ts";

export type Proto = "tcp" | "udp";

/** One DNAT entry: host [address] proto port → container address and port. */
export interface PortMapping {
  proto: Proto;
  /** "" or 0.0.0.0: every address of the host. */
  hostIp: string;
  hostPort: number;
  address: string;
  containerPort: number;
}

export interface NetworkElements {
  subnet: string;
  bridge: string;
}

/** nft identifiers; a table name is spliced into scripts, so only these. */
export function checkTableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) throw new HuskError(`invalid nftables table name ${JSON.stringify(table)}`);
  return table;
}

const anyHost = (ip: string) => ip === "" || ip === "0.0.0.0";

function mapElement(p: PortMapping, withValue: boolean): { map: string; element: string } {
  const key = `${p.proto} . ${p.hostPort}`;
  const value = withValue ? ` : ${p.address} . ${p.containerPort}` : "";
  return anyHost(p.hostIp)
    ? { map: "ports4", element: `${key}${value}` }
    : { map: "hostports4", element: `${p.hostIp} . ${key}${value}` };
}

/**
 * The table, its sets, maps and chains, their rules (replaced, so a changed husk converges), and
 * one network's elements. Safe to run again.
 */
export function setupScript(table: string, net: NetworkElements): string {
  const t = `inet ${checkTableName(table)}`;
  const dnat = [
    "dnat ip to ip daddr . meta l4proto . th dport map @hostports4",
    "fib daddr type local dnat ip to meta l4proto . th dport map @ports4",
  ];
  return [
    `add table ${t}`,
    `add set ${t} nets4 { type ipv4_addr; flags interval; }`,
    `add set ${t} bridges { type ifname; }`,
    `add map ${t} ports4 { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${t} hostports4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `flush chain ${t} prerouting`,
    `flush chain ${t} output`,
    `flush chain ${t} postrouting`,
    ...dnat.map((r) => `add rule ${t} prerouting ${r}`),
    ...dnat.map((r) => `add rule ${t} output ${r}`),
    `add rule ${t} postrouting ip saddr @nets4 oifname != @bridges masquerade`,
    `add rule ${t} postrouting ip saddr 127.0.0.0/8 oifname @bridges masquerade`,
    `add element ${t} nets4 { ${net.subnet} }`,
    `add element ${t} bridges { ${JSON.stringify(net.bridge)} }`,
    "",
  ].join("\n");
}

/** A network's elements out (the table stays). */
export function removeNetworkScript(table: string, net: NetworkElements): string {
  const t = `inet ${checkTableName(table)}`;
  return [
    `add table ${t}`,
    `add set ${t} nets4 { type ipv4_addr; flags interval; }`,
    `add set ${t} bridges { type ifname; }`,
    `add element ${t} nets4 { ${net.subnet} }`,
    `add element ${t} bridges { ${JSON.stringify(net.bridge)} }`,
    `delete element ${t} nets4 { ${net.subnet} }`,
    `delete element ${t} bridges { ${JSON.stringify(net.bridge)} }`,
    "",
  ].join("\n");
}

/** A container's published ports in, one map element each. */
export function addPortsScript(table: string, ports: PortMapping[]): string {
  const t = `inet ${checkTableName(table)}`;
  return ports
    .map((p) => mapElement(p, true))
    .map(({ map, element }) => `add element ${t} ${map} { ${element} }\n`)
    .join("");
}

/** A container's published ports out. */
export function deletePortsScript(table: string, ports: PortMapping[]): string {
  const t = `inet ${checkTableName(table)}`;
  return ports
    .map((p) => {
      const add = mapElement(p, true);
      const del = mapElement(p, false);
      return `add element ${t} ${add.map} { ${add.element} }\ndelete element ${t} ${del.map} { ${del.element} }\n`;
    })
    .join("");
}

/** The whole table gone (added first, so a missing table is no error). */
export function deleteTableScript(table: string): string {
  const t = `inet ${checkTableName(table)}`;
  return `add table ${t}\ndelete table ${t}\n`;
}

/** Run one script with `nft -f -`: one transaction. */
export async function runNft(script: string, nft = "nft", onSpawn?: (pid: number) => void): Promise<void> {
  if (script === "") return;
  // Loaded here, not at the top: a container without a network never needs it.
  const { spawn } = process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
  const proc = spawn(nft, ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<number>((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  // Told before the script is written: nft commits nothing until it has read all of it.
  if (proc.pid !== undefined) onSpawn?.(proc.pid);
  proc.stdin.end(script);
  let code: number;
  try {
    code = await done;
  } catch (err) {
    throw new HuskError(`cannot run ${nft}: ${(err as Error).message}`, { what: "nftables" });
  }
  if (code !== 0) {
    const first = stderr.split("\n").find((l) => l.includes("Error")) ?? stderr.trim().split("\n")[0] ?? "";
    throw new HuskError(first.replace(/^\/dev\/stdin:\d+:\d+-\d+: /, "") || `nft exited with status ${code}`, {
      what: "nftables",
    });
  }
}
