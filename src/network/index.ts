/**
 * husk's networking: bridge networks with IPAM, NAT and published ports, per-container
 * interfaces made over netlink by the helper, named network namespaces shared with iproute2,
 * and the DNS files a container gets. The engine and library callers start here.
 */
export { type DnsFiles, type DnsFilesOptions, type HostEntry, renderHosts, renderResolvConf, writeDnsFiles } from "./dns.ts";
export { type NetnsOptions, netnsAdd, netnsList, netnsPath, netnsRemove } from "./netns.ts";
export {
  type Attachment,
  type AttachOptions,
  DEFAULT_DATA_ROOT,
  DEFAULT_NETWORK,
  type DetachOptions,
  type EnsureNetworkOptions,
  Networks,
  type NetworksOptions,
  type PublishOptions,
  type ReserveOptions,
} from "./networks.ts";
export type { PortRequest } from "./ports.ts";
export { type Lease, type NetworkDef, type Owner, type PublishedPort, processOwner } from "./store.ts";
