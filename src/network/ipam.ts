/**
 * Address management over a network's leases. Pure: the caller holds the store's lock, reads
 * the record, asks here, writes it back (store.ts), so allocation in many processes at once is
 * as safe as in one.
 */
import { HuskError } from "../errors.ts";
import type { Lease, NetworkRecord } from "./store.ts";
import { formatIPv4, hostRange, parseIPv4, parseSubnet } from "./subnet.ts";

/** The lowest address of the network that is neither the gateway nor leased nor draining. */
export function allocate(rec: NetworkRecord): string {
  const subnet = parseSubnet(rec.network.subnet);
  const held = [...rec.leases, ...(rec.draining ?? [])];
  const taken = new Set<number>(held.map((l) => parseIPv4(l.address) ?? -1));
  taken.add(parseIPv4(rec.network.gateway) ?? -1);
  const { first, last } = hostRange(subnet);
  for (let a = first; a <= last; a++) if (!taken.has(a)) return formatIPv4(a);
  throw new HuskError(`network ${rec.network.name} has no free address left (${rec.network.subnet})`);
}

/** A specific address, if it is free and a host of the network (the caller waits for a draining one first). */
export function claim(rec: NetworkRecord, address: string): string {
  const a = parseIPv4(address);
  const subnet = parseSubnet(rec.network.subnet);
  const { first, last } = hostRange(subnet);
  if (a === undefined || a < first || a > last)
    throw new HuskError(`address ${address} is not in network ${rec.network.name} (${rec.network.subnet})`);
  if (address === rec.network.gateway) throw new HuskError(`address ${address} is the gateway of network ${rec.network.name}`);
  const holder = [...rec.leases, ...(rec.draining ?? [])].find((l) => l.address === address);
  if (holder) throw new HuskError(`address ${address} is in use by container ${holder.containerId}`);
  return address;
}

/** Leases split by whether their owner is gone. */
export async function partitionStale(
  leases: Lease[],
  alive: (lease: Lease) => boolean | Promise<boolean>,
): Promise<{ live: Lease[]; stale: Lease[] }> {
  const verdicts = await Promise.all(leases.map(async (l) => await alive(l)));
  return { live: leases.filter((_, i) => verdicts[i]), stale: leases.filter((_, i) => !verdicts[i]) };
}
