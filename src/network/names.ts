/**
 * Containers on the same user network find each other by name (docker's embedded DNS, podman's
 * aardvark) through their /etc/hosts: a lease may carry names (the container's name, short id
 * and network aliases) and the path of the container's hosts file, and every change of the
 * leases of a network rewrites the hosts files of the containers on it, under the store's lock
 * (store.ts), so two changes at once never leave a stale view.
 *
 * A hosts file is two parts: the container's own (localhost, its hostname and addresses,
 * --add-host; the engine writes it to `hosts.base` beside the file) and the others', made here:
 *
 *   <hosts.base>
 *   # other containers on its networks (husk rewrites this part)
 *   10.89.0.3	web 3f2a9c0d1e4b www
 *
 * The file is bind-mounted into the container, so it is rewritten in place: the bind holds the
 * inode, and a rename would leave the container reading the old one.
 *
 * Why files and not a resolver on the gateway: a resolver is a long-lived process per network
 * that must be started, supervised, reached only from the network's own bridge and kept from
 * answering for the world; the files cost a read and a write of a few hundred bytes per
 * container on the network per change, and work for every libc and busybox tool alike
 * (getent, ping, nslookup's fallback does not matter: they read /etc/hosts first).
 */
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { HuskError } from "../errors.ts";
import type { HostEntry } from "./dns.ts";
import type { Lease, NetworkRecord } from "./store.ts";

export const PEERS_HEADER = "# other containers on its networks (husk rewrites this part)";

/** A host name as /etc/hosts and docker's aliases take it. */
export const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;

export function checkNames(names: string[]): string[] {
  for (const n of names) if (!HOST_NAME.test(n)) throw new HuskError(`invalid host name ${JSON.stringify(n)}`);
  return names;
}

/** What other containers resolve to a container: its name, its short id, its aliases. */
export function containerNames(name: string, id: string, aliases: string[] = []): string[] {
  return [...new Set([name, id.slice(0, 12), ...aliases].filter((n) => n !== ""))];
}

/** The base (the container's own part) of a hosts file. */
export const basePath = (hostsFile: string) => `${hostsFile}.base`;

const named = (l: Lease): l is Lease & { names: string[]; hostsFile: string } =>
  Array.isArray(l.names) && l.names.length > 0 && typeof l.hostsFile === "string";

/**
 * The others a container sees: on every network where it has a named lease, the named leases
 * of the other containers. Pure.
 */
export function peersOf(recs: NetworkRecord[], containerId: string): HostEntry[] {
  const out: HostEntry[] = [];
  const seen = new Set<string>();
  for (const rec of recs) {
    if (!rec.leases.some((l) => l.containerId === containerId && named(l))) continue;
    for (const l of rec.leases) {
      if (l.containerId === containerId || !named(l)) continue;
      const line = `${l.address}\t${l.names.join(" ")}`;
      if (!seen.has(line)) {
        seen.add(line);
        out.push({ address: l.address, names: l.names });
      }
    }
  }
  return out;
}

export function hostsText(base: string, peers: HostEntry[]): string {
  if (peers.length === 0) return base;
  const sep = base === "" || base.endsWith("\n") ? "" : "\n";
  return `${base}${sep}${PEERS_HEADER}\n${peers.map((p) => `${p.address}\t${p.names.join(" ")}\n`).join("")}`;
}

/**
 * Replace the file's content on the same inode (write, then cut to length: a reader sees the
 * old text or the new one with at most the old one's tail, never an empty file). A file that is
 * not there (its container removed) is left alone; a symlink is refused, not followed (libuv
 * opens it close-on-exec).
 */
export function writeInPlace(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  try {
    const bytes = Buffer.from(text);
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readBase(hostsFile: string): string | undefined {
  try {
    return readFileSync(basePath(hostsFile), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The hosts files to rewrite after a change on `network`: its named leases' and those of `gone`. */
export function affected(recs: NetworkRecord[], network: string, gone: Lease[] = []): Map<string, string> {
  const files = new Map<string, string>();
  const rec = recs.find((r) => r.network.name === network);
  for (const l of [...(rec?.leases ?? []), ...gone]) if (named(l)) files.set(l.containerId, l.hostsFile);
  return files;
}

/**
 * Only under the store's lock, with the records as written: each container's hosts file made
 * again from its base and the others it now sees. Files whose base is gone (a container being
 * removed) are skipped.
 */
export function refreshHosts(recs: NetworkRecord[], files: Map<string, string>): void {
  for (const [id, file] of files) {
    const base = readBase(file);
    if (base !== undefined) writeInPlace(file, hostsText(base, peersOf(recs, id)));
  }
}

/** Only under the store's lock: a container's own part written, and its hosts file with it. */
export function writeHostsBase(recs: NetworkRecord[], containerId: string, hostsFile: string, base: string): void {
  writeFileSync(basePath(hostsFile), base, { mode: 0o644 });
  if (!writeInPlace(hostsFile, hostsText(base, peersOf(recs, containerId)))) throw new HuskError(`${hostsFile} is missing`);
}

/** What a container record keeps of run's DNS options (docker's HostConfig names them alike). */
export interface DnsConfig {
  networkAliases?: string[];
  /** "name:address" */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

/** The record's DNS fields from run's checked options, empty ones left out. */
export function dnsConfig(o: {
  networkAliases: string[];
  addHosts: { names: string[]; address: string }[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}): DnsConfig {
  const out: DnsConfig = {};
  if (o.networkAliases.length) out.networkAliases = o.networkAliases;
  if (o.addHosts.length) out.extraHosts = o.addHosts.map((h) => `${h.names.join(" ")}:${h.address}`);
  if (o.dns) out.dns = o.dns;
  if (o.dnsSearch) out.dnsSearch = o.dnsSearch;
  if (o.dnsOptions) out.dnsOptions = o.dnsOptions;
  return out;
}

/** The options of dns.ts's renderers from a record's DNS fields. */
export function dnsFilesOptions(rec: { hostConfig: DnsConfig }): {
  extraHosts: HostEntry[];
  servers?: string[];
  search?: string[];
  options?: string[];
} {
  const h = rec.hostConfig;
  const extraHosts = (h.extraHosts ?? []).map((e) => {
    const i = e.indexOf(":");
    return { names: e.slice(0, i).split(" "), address: e.slice(i + 1) };
  });
  return { extraHosts, servers: h.dns, search: h.dnsSearch, options: h.dnsOptions };
}
