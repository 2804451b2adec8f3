/**
 * `husk inspect`: docker's JSON shape for a container (the fields tools read: Id, Name, Created,
 * Path, Args, State, Config, HostConfig, Mounts, NetworkSettings). Pure.
 */
import { join } from "node:path";
import { HuskError, quote } from "../errors.ts";
import { portAndProto } from "./options.ts";
import type { ContainerRecord } from "./records.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
  };
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  HostConfig: Record<string, unknown>;
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; Mode: string; RW: boolean; Propagation: string }[];
  Config: {
    Hostname: string;
    Domainname: string;
    User: string;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    Tty: boolean;
    OpenStdin: boolean;
    Env: string[];
    Cmd: string[];
    Image: string;
    WorkingDir: string;
    Entrypoint: string[] | null;
    Labels: Record<string, string>;
    StopSignal?: string;
    StopTimeout?: number;
  };
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
    IPAddress: string;
    IPPrefixLen: number;
    Gateway: string;
    MacAddress: string;
    Networks: Record<string, { IPAddress: string; IPPrefixLen: number; Gateway: string; MacAddress: string }>;
  };
}

/** One published port of a running container, as `husk port` lists them. */
export interface PortMapping {
  containerPort: number;
  proto: "tcp" | "udp";
  /** "0.0.0.0" when published on every host address. */
  hostIp: string;
  hostPort: number;
}

/** What a running container publishes, in the order of its -p flags; nothing once it stopped (docker's too). */
export function portMappings(rec: ContainerRecord, running: boolean): PortMapping[] {
  if (!running) return [];
  const out: PortMapping[] = [];
  for (const b of rec.hostConfig.portBindings)
    for (const n of rec.networks)
      for (const p of n.ports)
        if (p.containerPort === b.containerPort && p.proto === b.proto)
          out.push({ containerPort: p.containerPort, proto: p.proto, hostIp: p.hostIp || "0.0.0.0", hostPort: p.hostPort });
  // Two -p flags for one container port list its publications once.
  return out.filter(
    (m, i) => out.findIndex((o) => o.hostPort === m.hostPort && o.proto === m.proto && o.hostIp === m.hostIp) === i,
  );
}

/** `husk port`'s PRIVATE_PORT[/PROTO]: "80" (tcp), "80/tcp", "53/udp". */
export function parsePortFilter(text: string): { port: number; proto: "tcp" | "udp" } {
  const p = typeof text === "string" ? portAndProto(text) : undefined;
  if (!p)
    throw new HuskError(`must be a port (1-65535), optionally with /tcp or /udp, not ${quote(String(text))}`, {
      origin: "containerPort",
    });
  return p;
}

/** What the record and the kernel say of a container (engine.ts' LiveState). */
type Live = { status: string; paused?: boolean; restarting?: boolean; exitCode?: number; finishedAt?: string };

/** docker's one word for the state: created, running, paused, restarting, exited. */
export function stateWord(live: Live): string {
  return live.paused ? "paused" : live.restarting ? "restarting" : live.status;
}

export function inspectShape(rec: ContainerRecord, live: Live, paths: { dir: string; logPath: string }): ContainerInspect {
  const running = live.status === "running";
  const first = running ? rec.networks[0] : undefined;
  const ports: ContainerInspect["NetworkSettings"]["Ports"] = {};
  const published = portMappings(rec, running);
  for (const b of rec.hostConfig.portBindings) {
    const mine = published.filter((p) => p.containerPort === b.containerPort && p.proto === b.proto);
    ports[`${b.containerPort}/${b.proto}`] = mine.length
      ? mine.map((p) => ({ HostIp: p.hostIp, HostPort: String(p.hostPort) }))
      : null;
  }
  const networks: ContainerInspect["NetworkSettings"]["Networks"] = {};
  if (rec.hostConfig.networkMode === "none" || rec.hostConfig.networkMode === "host")
    networks[rec.hostConfig.networkMode] = { IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "" };
  for (const n of rec.networks)
    networks[n.network] = running
      ? { IPAddress: n.address, IPPrefixLen: n.prefix, Gateway: n.gateway, MacAddress: n.mac }
      : { IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "" };
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: stateWord(live),
      // docker counts a container its restart policy is about to start again as running (with no pid).
      Running: running || live.restarting === true,
      Paused: live.paused === true,
      Restarting: live.restarting === true,
      OOMKilled: false,
      Dead: false,
      Pid: running ? rec.pid : 0,
      ExitCode: live.exitCode ?? 0,
      Error: rec.error ?? "",
      StartedAt: rec.startedAt ?? ZERO_TIME,
      FinishedAt: live.finishedAt ?? rec.finishedAt ?? ZERO_TIME,
    },
    Image: rec.imageId,
    ResolvConfPath: join(paths.dir, "etc/resolv.conf"),
    HostnamePath: join(paths.dir, "etc/hostname"),
    HostsPath: join(paths.dir, "etc/hosts"),
    LogPath: paths.logPath,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount ?? 0,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: {
      AutoRemove: rec.hostConfig.autoRemove,
      RestartPolicy: {
        Name: rec.hostConfig.restartPolicy?.name ?? "no",
        MaximumRetryCount: rec.hostConfig.restartPolicy?.maximumRetryCount ?? 0,
      },
      NetworkMode: rec.hostConfig.networkMode,
      PortBindings: Object.fromEntries(
        rec.hostConfig.portBindings.map((b) => [
          `${b.containerPort}/${b.proto}`,
          [{ HostIp: b.hostIp, HostPort: b.hostPort ? String(b.hostPort) : "" }],
        ]),
      ),
      Memory: rec.hostConfig.memory,
      NanoCpus: Math.round(rec.hostConfig.cpus * 1e9),
      PidsLimit: rec.hostConfig.pidsLimit || null,
      CapAdd: rec.hostConfig.capAdd.length ? rec.hostConfig.capAdd : null,
      CapDrop: rec.hostConfig.capDrop.length ? rec.hostConfig.capDrop : null,
      Privileged: rec.hostConfig.privileged,
      ReadonlyRootfs: rec.hostConfig.readOnly,
      SecurityOpt: rec.hostConfig.securityOpt?.length ? rec.hostConfig.securityOpt : null,
      // docker's Ulimits; -1 stands for unlimited as `--ulimit` takes it.
      Ulimits: rec.hostConfig.ulimits?.length
        ? rec.hostConfig.ulimits.map((u) => ({
            Name: u.name,
            Soft: u.soft >= 2 ** 64 ? -1 : u.soft,
            Hard: u.hard >= 2 ** 64 ? -1 : u.hard,
          }))
        : null,
      ...(rec.hostConfig.uidMap?.length ? { UidMap: rec.hostConfig.uidMap, GidMap: rec.hostConfig.gidMap } : {}),
      Binds: rec.mounts
        .filter((m) => m.type !== "tmpfs")
        .map((m) => `${m.name ?? m.source}:${m.destination}${m.rw ? "" : ":ro"}`),
      Tmpfs: Object.fromEntries(rec.mounts.filter((m) => m.type === "tmpfs").map((m) => [m.destination, ""])),
      ExtraHosts: rec.hostConfig.extraHosts ?? null,
      Dns: rec.hostConfig.dns ?? [],
      DnsSearch: rec.hostConfig.dnsSearch ?? [],
      DnsOptions: rec.hostConfig.dnsOptions ?? [],
    },
    Mounts: rec.mounts
      .filter((m) => m.type !== "tmpfs")
      .map((m) => ({
        Type: m.type,
        ...(m.name ? { Name: m.name } : {}),
        Source: m.source,
        Destination: m.destination,
        Mode: m.rw ? "" : "ro",
        RW: m.rw,
        Propagation: m.type === "bind" ? "rprivate" : "",
      })),
    Config: {
      Hostname: rec.config.hostname,
      Domainname: "",
      User: rec.config.user,
      AttachStdin: false,
      AttachStdout: !rec.detached,
      AttachStderr: !rec.detached,
      Tty: rec.config.tty === true,
      OpenStdin: rec.config.openStdin === true,
      Env: rec.config.env,
      Cmd: rec.config.cmd,
      Image: rec.image,
      WorkingDir: rec.config.cwd,
      Entrypoint: rec.config.entrypoint.length ? rec.config.entrypoint : null,
      Labels: rec.config.labels,
      ...(rec.config.stopSignal ? { StopSignal: rec.config.stopSignal } : {}),
      ...(rec.config.stopTimeout !== undefined ? { StopTimeout: rec.config.stopTimeout } : {}),
    },
    NetworkSettings: {
      Ports: ports,
      IPAddress: first?.address ?? "",
      IPPrefixLen: first?.prefix ?? 0,
      Gateway: first?.gateway ?? "",
      MacAddress: first?.mac ?? "",
      Networks: networks,
    },
  };
}
