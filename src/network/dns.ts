/**
 * A container's /etc/hosts, /etc/hostname and /etc/resolv.conf, written by the engine into a
 * per-container directory and bind-mounted into the container. Rendering is pure; writing
 * makes each file anew, whole, before the container exists.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { parseIPv4 } from "./subnet.ts";

export interface HostEntry {
  /** An address, or "host-gateway": the container's gateway (the host as the container reaches it). */
  address: string;
  names: string[];
}

export interface HostsOptions {
  hostname: string;
  /** The container's own address(es) on its networks; none: its name maps to 127.0.1.1. */
  addresses?: string[];
  /** More names for the container's own address (its id, network aliases). */
  aliases?: string[];
  extraHosts?: HostEntry[];
  /** What "host-gateway" stands for. */
  gateway?: string;
}

const validName = (n: string) => /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/.test(n);

export function renderHosts(o: HostsOptions): string {
  const names = [o.hostname, ...(o.aliases ?? [])].filter((n, i, all) => all.indexOf(n) === i);
  for (const n of names) if (!validName(n)) throw new HuskError(`invalid host name ${JSON.stringify(n)}`);
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  for (const e of o.extraHosts ?? []) {
    const address = e.address === "host-gateway" ? o.gateway : e.address;
    if (!address) throw new HuskError(`extra host ${e.names.join(" ")}: "host-gateway" needs a network with a gateway`);
    if (parseIPv4(address) === undefined && !/^[0-9a-fA-F:.]+$/.test(address)) {
      throw new HuskError(`extra host ${e.names.join(" ")}: invalid address ${JSON.stringify(address)}`);
    }
    for (const n of e.names) if (!validName(n)) throw new HuskError(`invalid host name ${JSON.stringify(n)}`);
    lines.push(`${address}\t${e.names.join(" ")}`);
  }
  const own = o.addresses?.length ? o.addresses : ["127.0.1.1"];
  for (const a of own) lines.push(`${a}\t${names.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

export interface ResolvOptions {
  /** Nameservers to use instead of the host's. */
  servers?: string[];
  search?: string[];
  options?: string[];
}

const isLoopback = (server: string) => server.startsWith("127.") || server === "::1" || server === "0:0:0:0:0:0:0:1";

/** Fallback when the host has no nameserver a container can reach (docker's choice). */
export const FALLBACK_SERVERS = ["8.8.8.8", "8.8.4.4"];

/**
 * The container's resolv.conf from the host's: its nameservers minus loopback ones (a local
 * resolver such as systemd-resolved's 127.0.0.53 is not reachable from the container's own
 * network namespace) and minus IPv6 ones (husk networks are IPv4), its search and options
 * lines kept. Given servers, search or options replace the host's.
 */
export function renderResolvConf(hostText: string, o: ResolvOptions = {}): string {
  const hostServers: string[] = [];
  let search: string[] = [];
  let options: string[] = [];
  for (const raw of hostText.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) hostServers.push(rest[0]);
    else if (key === "search" || key === "domain") search = rest;
    else if (key === "options") options.push(...rest);
  }
  let servers = o.servers ?? hostServers.filter((s) => !isLoopback(s) && parseIPv4(s) !== undefined);
  if (servers.length === 0) servers = FALLBACK_SERVERS;
  if (o.search) search = o.search;
  if (o.options) options = o.options;
  for (const s of servers) if (!/^[0-9a-fA-F:.]+$/.test(s)) throw new HuskError(`invalid DNS server ${JSON.stringify(s)}`);
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length) lines.push(`search ${search.join(" ")}`);
  if (options.length) lines.push(`options ${options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The host's resolv.conf text. With systemd-resolved's stub (only loopback nameservers), the
 * list of upstream servers it keeps is the useful one, as docker and podman read it.
 */
export function hostResolvConf(path = "/etc/resolv.conf", upstream = "/run/systemd/resolve/resolv.conf"): string {
  const text = readFileSync(path, "utf8");
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
  if (servers.length > 0 && servers.every(isLoopback)) {
    try {
      return readFileSync(upstream, "utf8");
    } catch {}
  }
  return text;
}

export interface DnsFilesOptions extends HostsOptions, ResolvOptions {
  /** The host's resolv.conf text (default: read as hostResolvConf does). */
  hostResolv?: string;
}

export interface DnsFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/**
 * Write hosts, hostname and resolv.conf into dir (made if missing), a new container's: nothing
 * reads them before it runs, so each is written in place, made anew ("wx": a file already
 * there, or a link, is refused rather than written through); returns their paths.
 */
export function writeDnsFiles(dir: string, o: DnsFilesOptions): DnsFiles {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = { hosts: join(dir, "hosts"), hostname: join(dir, "hostname"), resolvConf: join(dir, "resolv.conf") };
  const write = (path: string, text: string) => writeFileSync(path, text, { mode: 0o644, flag: "wx" });
  write(files.hosts, renderHosts(o));
  write(files.hostname, `${o.hostname}\n`);
  write(files.resolvConf, renderResolvConf(o.hostResolv ?? hostResolvConf(), o));
  return files;
}
