/**
 * Published ports: checking a host port is free before anything changes, and picking a free
 * one. The forwarding itself is nftables DNAT (nft.ts): no process per port.
 *
 * A host port is free when no husk container publishes it (the leases say) and the kernel
 * lets us bind it (exclusively, then let go): a listening host service, or a port bound on a
 * particular address when publishing on all of them, is found before the DNAT would shadow it.
 * Nothing holds the port afterwards, as with podman's netavark; a service that binds it later is
 * shadowed for traffic the DNAT catches.
 */
import { HuskError } from "../errors.ts";
import type { Proto } from "./nft.ts";
import type { PublishedPort } from "./store.ts";
import { parseIPv4 } from "./subnet.ts";

export interface PortRequest {
  containerPort: number;
  /** Default tcp. */
  proto?: Proto;
  /** Default every host address. */
  hostIp?: string;
  /** Default (or 0): a free port picked by the kernel. */
  hostPort?: number;
}

const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

export function checkRequest(r: PortRequest): Required<PortRequest> {
  const proto = r.proto ?? "tcp";
  if (proto !== "tcp" && proto !== "udp") throw new HuskError(`invalid protocol ${JSON.stringify(proto)}: tcp or udp`);
  if (!isPort(r.containerPort)) throw new HuskError(`invalid container port ${r.containerPort}`);
  const hostPort = r.hostPort ?? 0;
  if (hostPort !== 0 && !isPort(hostPort)) throw new HuskError(`invalid host port ${hostPort}`);
  const hostIp = r.hostIp === "0.0.0.0" ? "" : (r.hostIp ?? "");
  if (hostIp !== "" && parseIPv4(hostIp) === undefined)
    throw new HuskError(`invalid host address ${JSON.stringify(hostIp)}: an IPv4 address`);
  return { containerPort: r.containerPort, proto, hostIp, hostPort };
}

/** Do two publications claim the same packets? Same proto and port, and an address in common. */
export function clash(a: Pick<PublishedPort, "proto" | "hostIp" | "hostPort">, b: typeof a): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort && (a.hostIp === "" || b.hostIp === "" || a.hostIp === b.hostIp);
}

/** Bind proto hostIp:port (0: any free one) exclusively, let go, and say which port it was. */
export async function probePort(proto: Proto, hostIp: string, port: number): Promise<number> {
  const host = hostIp || "0.0.0.0";
  const explain = (err: NodeJS.ErrnoException) => {
    const where = `${hostIp ? `${hostIp}:` : ""}${port}/${proto}`;
    if (err.code === "EADDRINUSE") return new HuskError(`host port ${where} is already in use`);
    if (err.code === "EADDRNOTAVAIL") return new HuskError(`host address ${hostIp} is not an address of this host`);
    return new HuskError(`cannot bind host port ${where}: ${err.message}`, { errno: err.code });
  };
  if (proto === "udp") {
    const { createSocket } = process.getBuiltinModule("node:dgram") as typeof import("node:dgram");
    const sock = createSocket({ type: "udp4", reuseAddr: false });
    return await new Promise<number>((resolve, reject) => {
      sock.once("error", (err) => {
        sock.close();
        reject(explain(err));
      });
      sock.bind({ address: host, port, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve(got));
      });
    });
  }
  const { createServer } = process.getBuiltinModule("node:net") as typeof import("node:net");
  const server = createServer();
  return await new Promise<number>((resolve, reject) => {
    server.once("error", (err) => reject(explain(err)));
    server.listen({ host, port, exclusive: true }, () => {
      const got = (server.address() as { port: number }).port;
      server.close(() => resolve(got));
    });
  });
}
