/**
 * The host's and a container's links, made through the helper's netlink op: a plan per change,
 * each message described for the error that names it. A container's interface costs one helper
 * run: the veth is made from inside the container's namespace (its end there gets the index
 * husk chose, so its address and route can be sent at once), the host end appears in the
 * caller's namespace (IFLA_NET_NS_PID of this process) and is then put on the bridge.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { HuskError } from "../errors.ts";
import { launch, type ParentNetlink } from "../helper/driver.ts";
import type { Plan, Step } from "../plan/ops.ts";
import { sha256 } from "../sys/index.ts";
import {
  concat,
  delLink,
  LOOPBACK_INDEX,
  newAddress,
  newBridge,
  newDefaultRoute,
  newVeth,
  replaceNeighbour,
  setLink,
} from "./netlink.ts";

export interface Message {
  what: string;
  bytes: Uint8Array;
}

/** One netlink step: the messages sent from the namespace at `ns` ("" = ours). */
export function netlinkStep(what: string, ns: string, messages: Message[]): Step {
  return {
    what,
    parts: messages.map((m) => m.what),
    op: { op: "netlink", ns, messages: concat(messages.map((m) => m.bytes)) },
  };
}

/** Run a plan of netlink steps (or a plan still being made: the helper starts meanwhile). */
export async function runPlan(plan: Plan | Promise<Plan>, onSent?: () => void): Promise<void> {
  const netlinkOnly = Array.isArray(plan) ? plan.every((s) => s.op.op === "netlink") : true;
  const launched = await launch(plan, { preserveFds: 0, netlinkOnly, onSent });
  if (!launched.done) await launched.exited;
}

/**
 * What runs an attach's plan (a plan still being made: a helper may start meanwhile): onSent
 * once the helper has it, resolved once it ran. `retries`: a failed plan may be followed by
 * another (a helper of the attach's own), not when the container's helper runs it.
 */
export interface PlanRunner {
  run(plan: Promise<Plan>, onSent: () => void): Promise<void>;
  retries: boolean;
}

/**
 * A runner whose plan is handed over later, by whoever runs it from the start: `start` gets
 * the plan to come and a `sent` that reaches the attach's onSent, and its result is what run()
 * resolves with. `give` hands a plan over (the attach's, or a rejection for none).
 */
export function deferredRunner(
  start: (planned: Promise<Plan>, sent: () => void) => Promise<void>,
  retries: boolean,
): { runner: PlanRunner; give: (plan: Promise<Plan>) => void } {
  let give!: (plan: Promise<Plan>) => void;
  const planned = new Promise<Plan>((resolve, reject) => {
    give = (plan) => plan.then(resolve, reject);
  });
  planned.catch(() => {}); // taken by `start`'s runner, or never
  let sent: (() => void) | undefined;
  const running = start(planned, () => sent?.());
  running.catch(() => {}); // awaited by the attach that uses it, if one does
  return {
    runner: {
      run: (plan, onSent) => {
        sent = onSent;
        give(plan);
        return running;
      },
      retries,
    },
    give,
  };
}

/**
 * The attach's plan run by the helper that makes the container (plan op parentNetlink), not by a
 * helper of its own: `runner` for prepareAttach, `parent` for the runtime's parentNetlink option.
 * The helper asks for the plan once the container process exists; `fail` ends a wait for a plan
 * that will not come (the attach failed before making it), and an attach that never ran.
 */
export function parentRunner(): { runner: PlanRunner; parent: ParentNetlink; fail: (err: Error) => void } {
  let ended!: (err?: Error) => void;
  const ran = new Promise<void>((resolve, reject) => {
    ended = (err) => (err ? reject(err) : resolve());
  });
  let parent!: ParentNetlink;
  const { runner, give } = deferredRunner((planned, sent) => {
    parent = { plan: () => planned, sent, settled: ended };
    return ran;
  }, false);
  return {
    runner,
    parent,
    fail: (err) => {
      give(Promise.reject(err));
      ended(err);
    },
  };
}

/** A locally administered unicast MAC derived from seed: stable for the same seed. */
export function macFor(seed: string): string {
  const hex = sha256(seed).slice(0, 12);
  const first = (Number.parseInt(hex.slice(0, 2), 16) & 0xfc) | 0x02;
  return [first.toString(16).padStart(2, "0"), ...(hex.slice(2).match(/../g) ?? [])].join(":");
}

/** The host end of a container's veth: "husk-" and 9 hex digits of a hash of what it is for. */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `husk-${sha256(`${network}\0${containerId}\0${ifname}`).slice(0, 9)}`;
}

/** A link of the caller's namespace as sysfs shows it, or undefined if there is none by that name. */
export function hostLink(name: string): { index: number; mtu: number } | undefined {
  try {
    const index = Number(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8"));
    const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, "utf8"));
    return { index, mtu };
  } catch (err) {
    // EINVAL/ENODEV: the link is being unregistered (a deletion under way): no usable link.
    if (["ENOENT", "ENODEV", "EINVAL"].includes((err as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw err;
  }
}

/** Does the caller's namespace still have a link by that name (one being deleted included)? */
export const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

export function isErrno(err: unknown, ...names: string[]): boolean {
  return err instanceof HuskError && err.errno !== undefined && names.includes(err.errno);
}

/**
 * The MTU of the links husk makes (bridge, both veth ends): the largest a veth takes. What goes
 * past the host keeps the network's MTU, which the container's default route carries as its
 * own (a route metric): TCP's MSS and IP fragmentation follow the route, so off-link traffic is
 * what it was with 1500-byte links. What stays on the link (the gateway, the other containers of
 * the network) moves in 64 KiB packets, as on loopback: with 1500-byte links every TCP send is
 * a GSO packet of ~1448-byte segments, which cost ~0.75× of loopback's throughput here (README).
 */
export const LINK_MTU = 65535;

/**
 * The MTU for a new veth on `bridge`: LINK_MTU, or less while the bridge holds ports of a smaller
 * MTU (veths an older husk made): a bridge drops a frame larger than the port it leaves by.
 */
export function linkMtu(bridge: string, bridgeMtu: number): number {
  const ports = readdirSync(`/sys/class/net/${bridge}/brif`);
  return ports.length > 0 ? Math.min(LINK_MTU, bridgeMtu) : LINK_MTU;
}

export interface BridgeSpec {
  name: string;
  mac: string;
  gateway: string;
  prefix: number;
}

/**
 * Make the bridge, up, at LINK_MTU. The kernel then keeps a bridge's MTU at its smallest port's
 * (1500 again once it has none).
 */
export async function createBridge(b: BridgeSpec): Promise<void> {
  await runPlan([
    netlinkStep(`make bridge ${b.name}`, "", [
      { what: `create bridge ${b.name}`, bytes: newBridge({ name: b.name, mac: b.mac, mtu: LINK_MTU, up: true }) },
    ]),
  ]);
}

/** Give the bridge the gateway address: a second helper run, as it needs the index the kernel gave the bridge. */
export async function addBridgeAddress(b: BridgeSpec): Promise<void> {
  const link = hostLink(b.name);
  if (!link) {
    throw new HuskError(
      `bridge ${b.name} was made but /sys/class/net does not show it: sysfs must be mounted from husk's network namespace`,
    );
  }
  await runPlan([
    netlinkStep(`address bridge ${b.name}`, "", [
      { what: `add ${b.gateway}/${b.prefix} to ${b.name}`, bytes: newAddress(link.index, b.gateway, b.prefix) },
    ]),
  ]);
}

/**
 * Delete a host link by name, or by index when one is given (the link that had the name then,
 * not one that took it since); false if there was none.
 */
export async function deleteHostLink(name: string, index?: number): Promise<boolean> {
  const what = index === undefined ? `delete link ${name}` : `delete link ${name} (index ${index})`;
  try {
    await runPlan([netlinkStep(`delete ${name}`, "", [{ what, bytes: delLink(index === undefined ? { name } : { index }) }])]);
    return true;
  } catch (err) {
    if (isErrno(err, "ENODEV")) return false;
    throw err;
  }
}

/**
 * Delete host links by name, one helper run for all (a name already gone is skipped). With wait
 * false, resolves once the kernel has unlisted them (their names free, in both namespaces of a
 * veth: a millisecond or two after the request), not after the rest of their unregistration
 * (RCU grace periods, ~20 ms), which the helper sits through on its own (launch's letGo). One
 * still listed after a second is left to the caller (store.ts' Draining).
 */
export async function deleteHostLinks(names: string[], wait: boolean): Promise<void> {
  const plan = (some: string[]) => [
    netlinkStep(
      `delete ${some.join(", ")}`,
      "",
      some.map((n) => ({ what: `delete link ${n}`, bytes: delLink({ name: n }) })),
    ),
  ];
  if (!wait) {
    // Only those still there: the helper stops at a name already gone, and its errors are not seen.
    const there = names.filter(linkExists);
    if (there.length === 0) return;
    await launch(plan(there), { preserveFds: 0, netlinkOnly: true, letGo: true });
    await Promise.all(there.map((n) => gone(n, 1000)));
    return;
  }
  if (names.length === 0) return;
  const all = plan(names);
  await runPlan(all).catch(async (err: unknown) => {
    // ENODEV at message k: those before it are deleted, k is gone already; the others next.
    const prefix = `${all[0]!.what}: `;
    const what = err instanceof HuskError ? (err.what ?? "") : "";
    const k = what.startsWith(prefix) ? all[0]!.parts!.indexOf(what.slice(prefix.length)) : -1;
    if (!isErrno(err, "ENODEV") || k < 0) throw err;
    await deleteHostLinks(names.slice(k + 1), true);
  });
}

/** Wait until the host link `name` is gone (polling sysfs); false if it is still there after ms. */
export async function gone(name: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let delay = 1; linkExists(name); delay = Math.min(delay * 2, 20)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
  return true;
}

export interface InterfaceSpec {
  /** The container's network namespace (a path; /proc/<pid>/ns/net or a pin). */
  netnsPath: string;
  ifname: string;
  /** The index it gets in the container's namespace. */
  index: number;
  mac: string;
  /** The veth's MTU (linkMtu). */
  mtu: number;
  /** The network's MTU, the default route's (what leaves the host). */
  routeMtu: number;
  address: string;
  prefix: number;
  gateway: string;
  defaultRoute: boolean;
  hostVeth: string;
  bridge: string;
  bridgeIndex: number;
}

/** An interface's messages: those sent from the container's namespace, and those from the host's. */
export interface InterfaceMessages {
  inside: Message[];
  host: Message[];
}

/** The messages that give a container an interface on a bridge: all but where they are sent from. */
export function interfaceMessages(s: Omit<InterfaceSpec, "netnsPath">): InterfaceMessages {
  const inside: Message[] = [
    {
      what: `create ${s.ifname} (index ${s.index}) with its peer ${s.hostVeth} in the host's namespace`,
      bytes: newVeth(
        { name: s.ifname, index: s.index, mac: s.mac, mtu: s.mtu, up: true },
        { name: s.hostVeth, mtu: s.mtu, nsPid: process.pid },
      ),
    },
    { what: "set lo up", bytes: setLink({ index: LOOPBACK_INDEX }, { up: true }) },
    { what: `add ${s.address}/${s.prefix} to ${s.ifname}`, bytes: newAddress(s.index, s.address, s.prefix) },
  ];
  if (s.defaultRoute)
    inside.push({ what: `add the default route via ${s.gateway}`, bytes: newDefaultRoute(s.gateway, s.index, s.routeMtu) });
  const host: Message[] = [
    { what: `set ${s.hostVeth} up on ${s.bridge}`, bytes: setLink({ name: s.hostVeth }, { master: s.bridgeIndex, up: true }) },
    { what: `point ${s.address} at ${s.mac} on ${s.bridge}`, bytes: replaceNeighbour(s.bridgeIndex, s.address, s.mac) },
  ];
  return { inside, host };
}

/** The plan that gives a container an interface on a bridge (its messages made already, or made here). */
export function interfacePlan(s: InterfaceSpec, m: InterfaceMessages = interfaceMessages(s)): Plan {
  return [
    netlinkStep(`set up ${s.ifname} in ${s.netnsPath}`, s.netnsPath, m.inside),
    netlinkStep(`put ${s.hostVeth} on bridge ${s.bridge}`, "", m.host),
  ];
}

/** The index husk gives ethN in a container's namespace: 2 + N (1 is lo), as a fresh namespace would. */
export function interfaceIndex(ifname: string): number {
  const m = /^eth([0-9]{1,3})$/.exec(ifname);
  return m ? 2 + Number(m[1]) : 1000 + (Number.parseInt(sha256(ifname).slice(0, 6), 16) % 50000);
}
