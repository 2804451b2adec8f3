/**
 * Bridge networks for the engine: a network is a bridge with the gateway address, a subnet no
 * route of the host uses, masquerade for what leaves it (nft.ts) and a lease per container
 * interface (ipam.ts, on disk in store.ts). Everything is keyed by the options a Networks was
 * made with (data root, nftables table): two of them with different roots never meet.
 *
 *   ensureNetwork  record + nft elements + bridge (+ address, route_localnet, ip_forward)
 *   attach         lease → veth in the container's namespace, on the bridge  (one helper run)
 *   publish        ports checked free → one nft map element each              (one nft run)
 *   detach         veth deleted (or left to the kernel) → ports and lease released; an address
 *                  whose veth is still there drains (store.ts' Draining) until it is gone
 *   reclaim        leases whose owner is gone: as detach; drained addresses dropped
 *   removeNetwork  refused while attached; draining veths, bridge, elements, record
 *   reset          every bridge, veth, element and lease of this data root, and the table
 */
import { readFileSync, writeFileSync } from "node:fs";
import { HuskError } from "../errors.ts";
import { trace } from "../trace.ts";
import { allocate, claim, partitionStale } from "./ipam.ts";
import {
  addBridgeAddress,
  createBridge,
  deferredRunner,
  deleteHostLink,
  deleteHostLinks,
  gone,
  hostLink,
  hostVethName,
  type InterfaceMessages,
  type InterfaceSpec,
  interfaceIndex,
  interfaceMessages,
  interfacePlan,
  isErrno,
  linkExists,
  linkMtu,
  macFor,
  netlinkStep,
  type PlanRunner,
  runPlan,
} from "./links.ts";
import { affected, checkNames, refreshHosts, writeHostsBase } from "./names.ts";
import { IFNAME_MAX, setLink } from "./netlink.ts";
import {
  addPortsScript,
  checkTableName,
  deletePortsScript,
  deleteTableScript,
  type PortMapping,
  removeNetworkScript,
  runNft,
  setupScript,
} from "./nft.ts";
import { checkRequest, clash, type PortRequest, probePort } from "./ports.ts";
import {
  checkNetworkName,
  type Draining,
  type Lease,
  type NetworkDef,
  type NetworkRecord,
  type Owner,
  ownerAlive,
  type PublishedPort,
  processStartTime,
  Store,
} from "./store.ts";
import {
  defaultRouteIface,
  formatIPv4,
  gatewayFor,
  overlaps,
  parseRoutes,
  parseSubnet,
  pickSubnet,
  type Subnet,
  subnetText,
} from "./subnet.ts";

export const DEFAULT_DATA_ROOT = "/var/lib/husk/networks";
export const DEFAULT_NETWORK = "husk";
export const DEFAULT_BRIDGE = "husk0";
export const DEFAULT_TABLE = "husk";
/**
 * How long a draining veth (store.ts) is left to the kernel before husk deletes it itself: a
 * namespace outlives its container only while something outside holds it (an nsenter, an open
 * /proc/<pid>/ns/net), and the container is gone, so its link is deleted as a detach would.
 */
export const DRAIN_GRACE_MS = 10_000;

export interface NetworksOptions {
  /** Where network records and leases live (default /var/lib/husk/networks). */
  dataRoot?: string;
  /** The nftables table (family inet) husk's rules live in (default "husk"). */
  table?: string;
  /** The nft program (default "nft" from PATH). */
  nft?: string;
  /** Turn net.ipv4.ip_forward on when a network is set up, so containers reach past the host (default true). */
  ipForward?: boolean;
  /**
   * Is a lease's owner still there? The engine knows its containers; by default a lease with an
   * owner (pid and start time) is alive while that process is, one without is always kept.
   */
  ownerAlive?: (lease: Lease) => boolean | Promise<boolean>;
  /** The host's IPv4 routes (default /proc/net/route), for tests. */
  routes?: () => string;
}

export interface EnsureNetworkOptions {
  /** Default "husk". */
  name?: string;
  /** "10.90.0.0/16"; default: the first candidate no host route or other network uses. */
  subnet?: string;
  /** Default: the subnet's first address. */
  gateway?: string;
  /** Default husk0 for "husk", else husk1, husk2, … */
  bridge?: string;
  /**
   * The MTU of what leaves the host: the containers' default route carries it. Default: the MTU
   * of the interface of the host's default route, else 1500. The links are LINK_MTU (links.ts).
   */
  mtu?: number;
}

export interface ReserveOptions {
  network: string;
  containerId: string;
  /** Default "eth0". */
  ifname?: string;
  /** Default: the lowest free address. */
  address?: string;
  /** Recorded with the lease; when it is gone, the lease is reclaimed. */
  owner?: Owner;
  /**
   * What the other containers on the network resolve to this address (the container's name,
   * short id, aliases), and the container's hosts file, kept listing theirs (names.ts). Without
   * them (the default network, as docker's "bridge") nobody is told of anybody.
   */
  names?: string[];
  hostsFile?: string;
  /**
   * The container's hosts file made with the lease, under the same lock (what writeHosts does):
   * its own part for the address it gets (`base`), and the others it sees on its networks.
   */
  hosts?: { file: string; base: (address: string, gateway: string) => string };
  /**
   * The network as ensureNetwork would have it, checked under the lease's lock (its host side
   * made again if it is gone, after a reboot): for a caller that skipped ensureNetwork because
   * the network is made (isMade), so its record is read once per container, not twice.
   */
  ensure?: EnsureNetworkOptions;
}

export interface AttachOptions extends ReserveOptions {
  /** The container's network namespace: a pin (/run/netns/NAME) or /proc/<pid>/ns/net. */
  netnsPath: string;
  /** Add the default route via the gateway (default: for eth0, the first interface). */
  defaultRoute?: boolean;
}

export interface Attachment {
  network: string;
  containerId: string;
  ifname: string;
  address: string;
  prefix: number;
  gateway: string;
  mac: string;
  /** The network's MTU: the default route's. */
  mtu: number;
  /** The interface's own (LINK_MTU, links.ts): what stays on the network's link moves in packets this large. */
  linkMtu: number;
  hostVeth: string;
}

export interface PreparedAttach {
  /**
   * Take the lease now, for the attach() to come (same network, container and interface): for
   * a caller that waits anyway before the namespace exists (a container being made).
   */
  reserve(o: ReserveOptions): void;
  attach(o: AttachOptions, onPlanned?: (a: Attachment) => void | Promise<void>): Promise<Attachment>;
  /** Let the helper go unused (it exits when its channel closes); a lease reserve() took and no attach used is released. */
  cancel(): Promise<void>;
}

/** A lease taken and its interface made ready but for the namespace. */
interface Ready {
  lease: Lease;
  host: Omit<InterfaceSpec, "netnsPath">;
  messages: InterfaceMessages;
}

/** prepareAttach's reserve: the lease, and then its Ready. */
interface Reserved {
  network: string;
  lease: Promise<Lease>;
  ready: Promise<Ready>;
}

export interface DetachOptions {
  network: string;
  containerId: string;
  /** Default: every interface of the container on the network. */
  ifname?: string;
  /**
   * Wait until the kernel has freed the veth (default true). false: resolve once the kernel has
   * unlisted it (gone from both namespaces, its names free: a millisecond or two), the rest of
   * its unregistration (~20 ms) left to the helper; the address stays taken (store.ts' Draining)
   * only if it is still listed then.
   */
  wait?: boolean;
  /**
   * The container's network namespace has no process left (an engine container has a PID
   * namespace of its own: once its init has exited, nothing of it is). The kernel deletes the
   * veth pair with the namespace, so nothing is sent and nothing waited for; the address stays
   * taken (Draining) until the veth is gone.
   */
  namespaceGone?: boolean;
}

export interface PublishOptions {
  network: string;
  /** The container's address on the network (its lease). */
  containerAddress: string;
  ports: PortRequest[];
}

const sys = (path: string) => readFileSync(path, "utf8").trim();

export class Networks {
  readonly store: Store;
  readonly table: string;
  private readonly nft: string;
  private readonly ipForward: boolean;
  private readonly alive: (lease: Lease) => boolean | Promise<boolean>;
  private readonly routes: () => string;

  constructor(opts: NetworksOptions = {}) {
    this.store = new Store(opts.dataRoot ?? DEFAULT_DATA_ROOT);
    this.table = checkTableName(opts.table ?? DEFAULT_TABLE);
    this.nft = opts.nft ?? "nft";
    this.ipForward = opts.ipForward ?? true;
    this.alive = opts.ownerAlive ?? ((l) => ownerAlive(l.owner));
    this.routes = opts.routes ?? (() => readFileSync("/proc/net/route", "utf8"));
  }

  list(): NetworkDef[] {
    return this.store.all().map((r) => r.network);
  }

  inspect(name: string): NetworkRecord {
    const rec = this.store.read(name);
    if (!rec) throw new HuskError(`network ${name} does not exist`);
    return rec;
  }

  /**
   * The network, made if it does not exist, its host side made again if it is gone (after a
   * reboot). A network that exists must match what is asked. Everything is checked before
   * anything is made; a failure half way takes back what was made.
   */
  async ensureNetwork(o: EnsureNetworkOptions = {}): Promise<NetworkDef> {
    const name = checkNetworkName(o.name ?? DEFAULT_NETWORK);
    // The common case (every container on the default network): made, and its bridge the one
    // made. A record is written whole (store.ts), so it is read without the lock.
    const known = this.store.read(name);
    if (known && sameNetwork(o, known.network) && bridgeStillUp(known)) return known.network;
    return await this.store.locked(async () => {
      const existing = this.store.read(name);
      if (existing) {
        await this.repairHost(existing, o);
        return existing.network;
      }
      const others = this.store.all().map((r) => r.network);
      const bridge = o.bridge ?? (name === DEFAULT_NETWORK ? DEFAULT_BRIDGE : this.freeBridgeName(others));
      checkIfname(bridge);
      const sameBridge = others.find((n) => n.bridge === bridge);
      if (sameBridge) throw new HuskError(`bridge ${bridge} belongs to network ${sameBridge.name}`);
      if (hostLink(bridge))
        throw new HuskError(`an interface named ${bridge} exists on the host: husk uses only bridges it makes`);
      const routes = parseRoutes(this.routes());
      let subnet: Subnet;
      if (o.subnet !== undefined) {
        subnet = parseSubnet(o.subnet);
        const net = others.find((n) => overlaps(parseSubnet(n.subnet), subnet));
        if (net) throw new HuskError(`subnet ${o.subnet} overlaps network ${net.name} (${net.subnet})`);
        const route = routes.find((r) => overlaps(r.dest, subnet));
        if (route)
          throw new HuskError(`subnet ${o.subnet} overlaps the host's route to ${subnetText(route.dest)} on ${route.iface}`);
      } else {
        subnet = pickSubnet([...others.map((n) => parseSubnet(n.subnet)), ...routes.map((r) => r.dest)]);
      }
      const gateway = formatIPv4(gatewayFor(subnet, o.gateway));
      const mtu = o.mtu ?? this.defaultMtu();
      if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new HuskError(`invalid MTU ${mtu}`);
      const def: NetworkDef = {
        name,
        bridge,
        subnet: subnetText(subnet),
        gateway,
        mtu,
        mac: macFor(`bridge\0${name}`),
        created: new Date().toISOString(),
      };
      // The record first: a process killed while making the host side leaves a network the
      // next ensureNetwork finishes, not a bridge no record knows.
      this.store.write({ network: def, leases: [] });
      try {
        await this.setUpHost(def, true);
      } catch (err) {
        this.store.remove(name);
        throw err;
      }
      this.store.write({ network: def, leases: [], bridgeIndex: hostLink(def.bridge)?.index });
      return def;
    });
  }

  /**
   * Is the network made (its record written)? One stat: for a caller that then takes a lease
   * with `ensure`, which checks the rest under the lease's lock.
   */
  isMade(name: string): boolean {
    return this.store.has(name);
  }

  /**
   * Under the lock, a network that exists: it must match what is asked; its host side, gone
   * after a reboot or made half way when a process was killed, is made again.
   */
  private async repairHost(existing: NetworkRecord, o: EnsureNetworkOptions): Promise<void> {
    const def = existing.network;
    if (!sameNetwork(o, def))
      throw new HuskError(`network ${def.name} exists with subnet ${def.subnet}, gateway ${def.gateway}, bridge ${def.bridge}`);
    if (bridgeStillUp(existing)) return;
    if (!this.hostSideUp(def)) await this.setUpHost(def, false);
    const index = hostLink(def.bridge)?.index;
    if (existing.bridgeIndex !== index) {
      existing.bridgeIndex = index;
      this.store.write(existing);
    }
  }

  /** The bridge exists and has the gateway's route: the address is on it and it is up. */
  private hostSideUp(def: NetworkDef): boolean {
    const subnet = parseSubnet(def.subnet);
    const routes = parseRoutes(this.routes());
    return (
      hostLink(def.bridge) !== undefined &&
      routes.some((r) => r.iface === def.bridge && subnetText(r.dest) === subnetText(subnet))
    );
  }

  /**
   * nft elements, bridge with its address, the sysctls; each step safe to take again. A bridge
   * that exists must be this network's (its MAC says so). What a new network made is undone if
   * a later step fails.
   */
  private async setUpHost(def: NetworkDef, fresh: boolean): Promise<void> {
    const elements = { subnet: def.subnet, bridge: def.bridge };
    const bridge = { name: def.bridge, mac: def.mac, gateway: def.gateway, prefix: parseSubnet(def.subnet).prefix };
    await runNft(setupScript(this.table, elements), this.nft);
    let made = false;
    try {
      if (!hostLink(def.bridge)) {
        await createBridge(bridge);
        made = true;
      } else if (sys(`/sys/class/net/${def.bridge}/address`) !== def.mac) {
        throw new HuskError(`an interface named ${def.bridge} exists on the host and is not network ${def.name}'s bridge`);
      }
      await addBridgeAddress(bridge).catch((err) => {
        if (!isErrno(err, "EEXIST")) throw err;
      });
      // Made up; one found down (after a crash, or by hand) is set up.
      if (!made)
        await runPlan([
          netlinkStep(`set ${def.bridge} up`, "", [
            { what: `set ${def.bridge} up`, bytes: setLink({ name: def.bridge }, { up: true }) },
          ]),
        ]);
      // DNAT of 127.0.0.1 to a container leaves by the bridge with a loopback source.
      writeFileSync(`/proc/sys/net/ipv4/conf/${def.bridge}/route_localnet`, "1");
      if (this.ipForward && sys("/proc/sys/net/ipv4/ip_forward") !== "1") writeFileSync("/proc/sys/net/ipv4/ip_forward", "1");
    } catch (err) {
      if (made) await deleteHostLink(def.bridge).catch(() => {});
      if (fresh) await runNft(removeNetworkScript(this.table, elements), this.nft).catch(() => {});
      throw err;
    }
  }

  private freeBridgeName(others: NetworkDef[]): string {
    for (let n = 1; ; n++) {
      const name = `husk${n}`;
      if (!others.some((o) => o.bridge === name) && !hostLink(name)) return name;
    }
  }

  private defaultMtu(): number {
    const iface = defaultRouteIface(this.routes());
    const mtu = iface ? Number(hostLink(iface)?.mtu) : Number.NaN;
    return Number.isInteger(mtu) && mtu >= 68 ? mtu : 1500;
  }

  /** Remove a network; refused while a container (with a live owner) is attached. */
  async removeNetwork(name: string): Promise<void> {
    await this.store.locked(async () => {
      const rec = this.store.read(name);
      if (!rec) throw new HuskError(`network ${name} does not exist`);
      await this.reclaimIn(rec);
      if (rec.leases.length > 0) {
        const ids = [...new Set(rec.leases.map((l) => l.containerId))];
        throw new HuskError(`network ${name} is in use by ${ids.length === 1 ? "container" : "containers"} ${ids.join(", ")}`);
      }
      await drain(rec, true);
      await this.tearDownHost(rec.network);
      this.store.remove(name);
    });
  }

  private async tearDownHost(def: NetworkDef): Promise<void> {
    await deleteBridge(def);
    await runNft(removeNetworkScript(this.table, { subnet: def.subnet, bridge: def.bridge }), this.nft);
  }

  /**
   * Reserve an address for a container interface (the lease attach makes before the veth):
   * stale leases are reclaimed first, a container has one lease per interface name.
   */
  async reserve(o: ReserveOptions): Promise<Lease> {
    return (await this.reserveLease(o)).lease;
  }

  /** reserve(), and the network as the lease was taken on it. */
  private async reserveLease(o: ReserveOptions): Promise<{ lease: Lease; def: NetworkDef }> {
    const ifname = o.ifname ?? "eth0";
    checkIfname(ifname);
    if (!o.containerId) throw new HuskError("a container id is needed");
    if (o.names !== undefined) checkNames(o.names);
    if ((o.names === undefined) !== (o.hostsFile === undefined)) throw new HuskError("names and hostsFile go together");
    if (o.hostsFile !== undefined && !o.hostsFile.startsWith("/")) throw new HuskError("hostsFile must be an absolute path");
    if (o.hosts !== undefined && !o.hosts.file.startsWith("/")) throw new HuskError("hosts.file must be an absolute path");
    return await this.store.locked(async () => {
      const rec = this.inspect(o.network);
      if (o.ensure) await this.repairHost(rec, o.ensure);
      await this.reclaimIn(rec);
      if (rec.leases.some((l) => l.containerId === o.containerId && l.ifname === ifname)) {
        throw new HuskError(`container ${o.containerId} is already attached to network ${o.network} as ${ifname}`);
      }
      // An address asked for by name is not left to drain: its container is gone, so its veth is deleted now.
      const draining = rec.draining?.find((d) => d.address === o.address);
      if (draining) await drain({ ...rec, draining: [draining] }, true);
      rec.draining = rec.draining?.filter((d) => d !== draining);
      const address = o.address !== undefined ? claim(rec, o.address) : allocate(rec);
      const lease: Lease = {
        containerId: o.containerId,
        ifname,
        address,
        mac: macFor(`${o.containerId}\0${ifname}`),
        hostVeth: hostVethName(o.network, o.containerId, ifname),
        owner: o.owner,
        ports: [],
        ...(o.names ? { names: o.names, hostsFile: o.hostsFile } : {}),
      };
      rec.leases.push(lease);
      this.store.write(rec);
      const recs = lease.names || o.hosts ? this.store.all() : [];
      // Its own file first: the others' refresh then finds its base (and skips it if it has none).
      if (o.hosts) writeHostsBase(recs, o.containerId, o.hosts.file, o.hosts.base(address, rec.network.gateway));
      if (lease.names) {
        const files = affected(recs, o.network);
        if (o.hosts?.file === lease.hostsFile) files.delete(o.containerId);
        refreshHosts(recs, files);
      }
      return { lease, def: rec.network };
    });
  }

  /**
   * Give the container an interface on the network: veth, MAC, MTU, address, default route. One
   * helper run, started while the lease is taken so the two overlap. onPlanned is told what the
   * attachment will be as soon as the lease is taken (while the helper makes it): the caller's
   * own bookkeeping then overlaps the helper's work; if it throws, the attach fails and is undone.
   */
  attach(o: AttachOptions, onPlanned?: (a: Attachment) => void | Promise<void>): Promise<Attachment> {
    return this.attachWith(o, { run: runPlan, retries: true }, undefined, onPlanned);
  }

  /**
   * The helper of an attach still to come, started now: for a container about to be made, its
   * spawn (milliseconds) overlaps the container's own start instead of following it. The
   * handle's attach() is attach() with that helper (a second call starts its own), and with the
   * lease its reserve() took; cancel() lets the helper go unused (it exits when its channel
   * closes) and gives back a lease no attach used. With `runner`, no helper is started: the
   * attach's plan goes to it (the container's own helper, parentRunner in links.ts).
   */
  prepareAttach(runner?: PlanRunner): PreparedAttach {
    // Without a runner: a helper of the attach's own, started now, that reads the plan to come.
    const own = runner ? undefined : deferredRunner(runPlan, true);
    const run = runner ?? own!.runner;
    let used = false;
    let reserved: Reserved | undefined;
    return {
      reserve: (o) => {
        if (used || reserved) throw new HuskError("reserve() comes once, before attach()");
        // The interface's messages too: all of the attach but the namespace's path, made now.
        const taken = this.reserveLease(o);
        const lease = taken.then((t) => t.lease);
        const ready = taken.then((t) => this.ready(t.def, t.lease, undefined));
        lease.catch(() => {}); // awaited by the attach, or by cancel
        ready.catch(() => {});
        reserved = { network: o.network, lease, ready };
      },
      attach: (o, onPlanned) => {
        if (used) return this.attach(o, onPlanned);
        used = true;
        if (reserved && reserved.network !== o.network)
          throw new HuskError(`the lease was reserved on network ${reserved.network}`);
        return this.attachWith(o, run, reserved, onPlanned);
      },
      cancel: async () => {
        if (used) return;
        used = true;
        own?.give(Promise.reject(new HuskError("the prepared attach was not used")));
        const lease = await reserved?.lease.catch(() => undefined);
        if (reserved && lease) await this.release(reserved.network, [lease], { namespaceGone: true });
      },
    };
  }

  /** A lease's interface but its namespace: the spec, and the messages for the default route's choice. */
  private ready(def: NetworkDef, lease: Lease, defaultRoute: boolean | undefined): Ready {
    const host = { ...hostSide(def, lease), defaultRoute: defaultRoute ?? lease.ifname === "eth0" };
    return { lease, host, messages: interfaceMessages(host) };
  }

  private async attachWith(
    o: AttachOptions,
    runner: PlanRunner,
    reserved: Reserved | undefined,
    onPlanned: ((a: Attachment) => void | Promise<void>) | undefined,
  ): Promise<Attachment> {
    let lease: Lease | undefined;
    let spec: InterfaceSpec | undefined;
    const planned = (async () => {
      let r: Ready;
      if (reserved) {
        lease = await reserved.lease;
        r = await reserved.ready;
      } else {
        const taken = await this.reserveLease(o);
        lease = taken.lease;
        r = this.ready(taken.def, lease, o.defaultRoute);
      }
      if (o.defaultRoute !== undefined && o.defaultRoute !== r.host.defaultRoute)
        r = this.ready(this.inspect(o.network).network, r.lease, o.defaultRoute);
      spec = { ...r.host, netnsPath: o.netnsPath };
      // The host end's name still taken by a veth whose deletion is under way (a detach that
      // did not wait): waited for here, where a runner that makes one try finds it free.
      if (!runner.retries && linkExists(spec.hostVeth)) await gone(spec.hostVeth, 5000);
      return interfacePlan(spec, r.messages);
    })();
    let handed = false;
    let onSent!: () => void;
    const sent = new Promise<void>((resolve) => {
      onSent = () => {
        handed = true;
        resolve();
      };
    });
    const made = runner.run(planned, onSent).catch(async (err) => {
      if (!spec || !runner.retries) throw err;
      const created = `${interfacePlan(spec)[0]!.what}: ${interfacePlan(spec)[0]!.parts![0]}`;
      if (!(isErrno(err, "EEXIST") && err instanceof HuskError && err.what === created)) throw err;
      // The host end's name is still taken by a veth whose deletion is under way (a detach
      // that did not wait): wait for it. Else the index husk picked is taken in that
      // namespace: one more try with another.
      if (linkExists(spec.hostVeth) && (await gone(spec.hostVeth, 5000))) await runPlan(interfacePlan(spec));
      else await runPlan(interfacePlan({ ...spec, index: 10000 + Math.floor(Math.random() * 50000) }));
    });
    // The caller's part once the helper has the plan (not before: that would delay it).
    const noted = Promise.race([sent, made.catch(() => {})]).then(() =>
      handed ? onPlanned?.(attachmentOf(o.network, o.containerId, spec!)) : undefined,
    );
    // Both settled before anything is undone: a veth still being made is not left behind.
    const [m, n] = await Promise.allSettled([made, noted]);
    if (m.status === "rejected" || n.status === "rejected") {
      if (lease) await this.release(o.network, [lease]).catch(() => {});
      throw m.status === "rejected" ? m.reason : (n as PromiseRejectedResult).reason;
    }
    trace("network: veth made");
    return attachmentOf(o.network, o.containerId, spec!);
  }

  /**
   * Take the container's interface(s) off the network: the veth goes (its end in the container
   * with it), then its published ports and its lease. Nothing attached is not an error.
   */
  async detach(o: DetachOptions): Promise<Lease[]> {
    const ours = (l: Lease) => l.containerId === o.containerId && (o.ifname === undefined || l.ifname === o.ifname);
    // Nothing to delete first: the record read, changed and written under one lock.
    if (o.namespaceGone) {
      const out = await this.store.locked(() => this.dropLeases(o.network, ours, false, true));
      if (!out) throw new HuskError(`network ${o.network} does not exist`);
      return out;
    }
    const leases = this.inspect(o.network).leases.filter(ours);
    await this.release(o.network, leases, { wait: o.wait });
    return leases;
  }

  /**
   * Delete the leases' veths, then, under the lock, their ports and the leases themselves. The
   * kernel takes tens of milliseconds to free a veth (RCU grace periods, and for a namespace
   * that died, its cleanup in a work queue): with wait false only until it is unlisted (the
   * helper sits through the rest, deleteHostLinks), with namespaceGone it is the kernel's
   * already, and a lease whose veth is still there becomes a Draining entry, its address held
   * until the veth is gone. An attach that needs the host end's name (the same container again)
   * waits for it (attach above).
   */
  async release(network: string, leases: Lease[], opts: { wait?: boolean; namespaceGone?: boolean } = {}): Promise<void> {
    if (leases.length === 0) return;
    const waited = !opts.namespaceGone && opts.wait !== false;
    if (!opts.namespaceGone)
      await deleteHostLinks(
        leases.map((l) => l.hostVeth),
        waited,
      );
    const gone = (l: Lease) =>
      leases.some((x) => x.containerId === l.containerId && x.ifname === l.ifname && x.address === l.address);
    await this.store.locked(() => this.dropLeases(network, gone, waited, opts.namespaceGone === true));
  }

  /**
   * Under the lock: the leases of `network` that match dropped with their ports; those whose veth
   * may still be there (not waited for) left draining. The others on the network are told (their
   * hosts files); a container whose namespace is gone is not (its own file goes with it, or is
   * made again when it is attached again). Undefined if there is no such network.
   */
  private async dropLeases(
    network: string,
    match: (l: Lease) => boolean,
    waited: boolean,
    namespaceGone: boolean,
  ): Promise<Lease[] | undefined> {
    const rec = this.store.read(network);
    if (!rec) return undefined;
    const out = rec.leases.filter(match);
    if (out.length === 0) return out;
    await runNft(deletePortsScript(this.table, out.flatMap(mappings)), this.nft);
    rec.leases = rec.leases.filter((l) => !match(l));
    if (!waited) rec.draining = [...(rec.draining ?? []), ...out.flatMap(drainingOf)];
    this.store.write(rec);
    if (out.some((l) => l.names)) this.namesChanged(rec, namespaceGone ? [] : out);
    return out;
  }

  /** Under the lock, the leases of `rec` (as written) changed: the hosts files of its containers (and of `gone`) made again. */
  private namesChanged(rec: NetworkRecord, gone: Lease[] = []): void {
    const files = affected([rec], rec.network.name, gone);
    if (files.size === 0) return; // nobody left to tell: the others' records need not be read
    const recs = this.store.all();
    refreshHosts(recs, files);
  }

  /**
   * A container's own part of its hosts file (hostname, addresses, extra hosts) written, and the
   * file made again from it and the containers it sees on its user networks.
   */
  async writeHosts(containerId: string, hostsFile: string, base: string): Promise<void> {
    await this.store.locked(() => writeHostsBase(this.store.all(), containerId, hostsFile, base));
  }

  /**
   * A container renamed (husk rename): on every user network it is on, the others resolve the
   * new name instead of the old one; their hosts files made again.
   */
  async renameContainer(containerId: string, oldName: string, newName: string): Promise<void> {
    await this.store.locked(() => {
      for (const rec of this.store.all()) {
        let changed = false;
        for (const l of rec.leases)
          if (l.containerId === containerId && l.names?.includes(oldName)) {
            l.names = l.names.map((n) => (n === oldName ? newName : n));
            changed = true;
          }
        if (!changed) continue;
        this.store.write(rec);
        this.namesChanged(rec);
      }
    });
  }

  /** Leases of the network (of all networks without a name) whose owner is gone, released. */
  async reclaim(network?: string): Promise<Lease[]> {
    return await this.store.locked(async () => {
      const recs = network !== undefined ? [this.inspect(network)] : this.store.all();
      const out: Lease[] = [];
      for (const rec of recs) out.push(...(await this.reclaimIn(rec)));
      return out;
    });
  }

  /** Under the lock: rec's drained addresses and stale leases released, rec written if that changed it. */
  private async reclaimIn(rec: NetworkRecord): Promise<Lease[]> {
    const drained = await drain(rec, false);
    const { live, stale } = await partitionStale(rec.leases, this.alive);
    if (stale.length === 0) {
      if (drained) this.store.write(rec);
      return [];
    }
    for (const l of stale) await deleteHostLink(l.hostVeth);
    for (const l of stale) await orphanDone(l.pendingNft);
    await runNft(deletePortsScript(this.table, stale.flatMap(mappings)), this.nft);
    rec.leases = live;
    this.store.write(rec);
    if (stale.some((l) => l.names)) this.namesChanged(rec, stale);
    return stale;
  }

  /**
   * Publish container ports on the host: each checked (not published by another container, not
   * bound on the host) before any is added, then all of them in one nft transaction. A request
   * without a host port gets a free one.
   */
  async publish(o: PublishOptions): Promise<PublishedPort[]> {
    const requests = o.ports.map(checkRequest);
    return await this.store.locked(async () => {
      const all = this.store.all();
      const rec = all.find((r) => r.network.name === o.network);
      if (!rec) throw new HuskError(`network ${o.network} does not exist`);
      const lease = rec.leases.find((l) => l.address === o.containerAddress);
      if (!lease) throw new HuskError(`no container has address ${o.containerAddress} on network ${o.network}`);
      const taken = all.flatMap((r) => r.leases.flatMap((l) => l.ports.map((p) => ({ ...p, owner: l.containerId }))));
      const chosen: PublishedPort[] = [];
      for (const r of requests) {
        let hostPort = r.hostPort;
        if (hostPort !== 0) {
          const other = [...taken, ...chosen.map((p) => ({ ...p, owner: lease.containerId }))].find((p) =>
            clash(p, { ...r, hostPort }),
          );
          if (other) throw new HuskError(`host port ${hostPort}/${r.proto} is already published by container ${other.owner}`);
          await probePort(r.proto, r.hostIp, hostPort);
        } else {
          for (let tries = 0; hostPort === 0 || [...taken, ...chosen].some((p) => clash(p, { ...r, hostPort })); tries++) {
            if (tries === 20) throw new HuskError(`no free host port found for ${r.containerPort}/${r.proto}`);
            hostPort = await probePort(r.proto, r.hostIp, 0);
          }
        }
        chosen.push({ proto: r.proto, hostIp: r.hostIp, hostPort, containerPort: r.containerPort });
      }
      // Recorded before nft may commit them: an owner killed meanwhile leaves a lease whose
      // reclaim removes them (after waiting for its orphaned nft).
      lease.ports.push(...chosen);
      try {
        await runNft(addPortsScript(this.table, mappings({ ...lease, ports: chosen })), this.nft, (pid) => {
          lease.pendingNft = { pid, startTime: processStartTime(pid) ?? 0 };
          this.store.write(rec);
        });
      } catch (err) {
        lease.ports = lease.ports.filter((p) => !chosen.includes(p));
        delete lease.pendingNft;
        this.store.write(rec);
        throw err;
      }
      delete lease.pendingNft;
      this.store.write(rec);
      return chosen;
    });
  }

  /** Everything of this data root gone: veths, bridges, nft table, records. */
  async reset(): Promise<void> {
    await this.store.locked(async () => {
      for (const rec of this.store.all()) {
        for (const l of rec.leases) await deleteHostLink(l.hostVeth);
        await drain(rec, true);
        await deleteBridge(rec.network);
        this.store.remove(rec.network.name);
      }
      await runNft(deleteTableScript(this.table), this.nft);
    });
  }
}

/** All of a lease's interface but where it goes: from the network's record and its bridge, once the lease is taken. */
function hostSide(def: NetworkDef, lease: Lease): Omit<InterfaceSpec, "netnsPath" | "defaultRoute"> {
  const bridge = hostLink(def.bridge);
  if (!bridge) throw new HuskError(`bridge ${def.bridge} of network ${def.name} is missing (ensureNetwork makes it again)`);
  return {
    ifname: lease.ifname,
    index: interfaceIndex(lease.ifname),
    mac: lease.mac,
    mtu: linkMtu(def.bridge, bridge.mtu),
    routeMtu: def.mtu,
    address: lease.address,
    prefix: parseSubnet(def.subnet).prefix,
    gateway: def.gateway,
    hostVeth: lease.hostVeth,
    bridge: def.bridge,
    bridgeIndex: bridge.index,
  };
}

function attachmentOf(network: string, containerId: string, s: InterfaceSpec): Attachment {
  return {
    network,
    containerId,
    ifname: s.ifname,
    address: s.address,
    prefix: s.prefix,
    gateway: s.gateway,
    mac: s.mac,
    mtu: s.routeMtu,
    linkMtu: s.mtu,
    hostVeth: s.hostVeth,
  };
}

/** Does an existing network match what ensureNetwork asks (what it leaves out, anything)? */
function sameNetwork(o: EnsureNetworkOptions, def: NetworkDef): boolean {
  return !(
    (o.subnet !== undefined && o.subnet !== def.subnet && subnetText(parseSubnet(o.subnet)) !== def.subnet) ||
    (o.gateway !== undefined && o.gateway !== def.gateway) ||
    (o.bridge !== undefined && o.bridge !== def.bridge)
  );
}

/** The network's bridge is the one its host side was made on (its ifindex), and up. */
function bridgeStillUp(rec: NetworkRecord): boolean {
  if (rec.bridgeIndex === undefined) return false;
  try {
    const dir = `/sys/class/net/${rec.network.bridge}`;
    return Number(readFileSync(`${dir}/ifindex`, "utf8")) === rec.bridgeIndex && (Number(sys(`${dir}/flags`)) & 1) === 1;
  } catch {
    return false; // no such link (or one being deleted)
  }
}

/** A released lease whose veth is still there, as a Draining entry (none if the kernel freed it already). */
function drainingOf(l: Lease): Draining[] {
  const link = hostLink(l.hostVeth);
  if (!link) return [];
  return [
    {
      address: l.address,
      containerId: l.containerId,
      hostVeth: l.hostVeth,
      ifindex: link.index,
      since: new Date().toISOString(),
    },
  ];
}

/**
 * Is the draining entry's veth still there? A link being unregistered counts as gone (hostLink):
 * the kernel has taken both ends down by then, so neither answers for the address.
 */
const lingers = (d: Draining) => hostLink(d.hostVeth)?.index === d.ifindex;

/**
 * Under the lock: rec's draining entries whose veth is gone dropped; one lingering past
 * DRAIN_GRACE_MS (or every one, with all: the network or husk's state goes) deleted and
 * dropped. True if rec.draining changed.
 */
async function drain(rec: NetworkRecord, all: boolean): Promise<boolean> {
  const before = rec.draining ?? [];
  if (before.length === 0) return false;
  const now = Date.now();
  const left: Draining[] = [];
  for (const d of before) {
    if (!lingers(d)) continue;
    if (all || now - Date.parse(d.since) > DRAIN_GRACE_MS) await deleteHostLink(d.hostVeth, d.ifindex);
    else left.push(d);
  }
  rec.draining = left;
  return left.length !== before.length;
}

/** An nft a dead owner left running has finished (it commits within milliseconds; 5 s at most). */
async function orphanDone(nft: Owner | undefined): Promise<void> {
  for (let i = 0; nft && i < 500 && processStartTime(nft.pid) === nft.startTime; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Delete the network's bridge, if the interface by that name is it (its MAC says so). */
async function deleteBridge(def: NetworkDef): Promise<void> {
  const mac = hostLink(def.bridge) ? sys(`/sys/class/net/${def.bridge}/address`) : undefined;
  if (mac === def.mac) await deleteHostLink(def.bridge);
}

function mappings(l: Pick<Lease, "address" | "ports">): PortMapping[] {
  return l.ports.map((p) => ({ ...p, address: l.address }));
}

function checkIfname(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.length > IFNAME_MAX || name === "." || name === "..") {
    throw new HuskError(`invalid interface name ${JSON.stringify(name)}: at most ${IFNAME_MAX} letters, digits, "_", "." or "-"`);
  }
}
