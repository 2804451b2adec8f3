/**
 * `husk info` and `husk version`: what this engine runs on and holds, as docker info and
 * podman info summarise it (counts, storage, cgroups, kernel, the JS runtime), for people and,
 * as JSON, for scripts.
 */
import { cpus, release, totalmem } from "node:os";
import { cgroupLayout } from "../runtime/cgroup-setup.ts";
import { versionInfo } from "../runtime/version.ts";
import type { Engine } from "./engine.ts";

export interface VersionReport {
  /** husk's version (package.json). */
  version: string;
  /** The OCI runtime-spec version husk implements. */
  spec: string;
  /** The commit the native helper was built from. */
  helper: string;
  /** "Bun 1.4.5" or "Node 20.19.0": what runs this process. */
  jsRuntime: string;
  /** "linux/amd64"-style, as docker prints OS/Arch. */
  osArch: string;
}

export interface EngineInfo extends VersionReport {
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  volumes: number;
  networks: string[];
  /** overlay: image layers under a writable upper per container. */
  storageDriver: "overlay";
  dataRoot: string;
  stateRoot: string;
  /** v1, v2, or hybrid (v1 controllers beside a cgroup2 mount). */
  cgroups: "v1" | "v2" | "hybrid";
  kernel: string;
  cpus: number;
  memoryBytes: number;
  nftTable: string;
}

const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" };

export function versionReport(): VersionReport {
  const v = versionInfo();
  const bun = (process.versions as { bun?: string }).bun;
  return {
    version: v.version,
    spec: v.spec,
    helper: v.helper,
    jsRuntime: bun ? `Bun ${bun}` : `Node ${process.versions.node}`,
    osArch: `${process.platform}/${GOARCH[process.arch] ?? process.arch}`,
  };
}

export async function engineInfo(engine: Engine): Promise<EngineInfo> {
  const containers = await engine.list({ all: true });
  const running = containers.filter((c) => c.state === "running").length;
  const paused = containers.filter((c) => c.state === "paused").length;
  return {
    ...versionReport(),
    containers: { total: containers.length, running, paused, stopped: containers.length - running - paused },
    images: (await engine.images.list()).length,
    volumes: engine.volumes.list().length,
    networks: engine.networks.list().map((n) => n.name),
    storageDriver: "overlay",
    dataRoot: engine.dataRoot,
    stateRoot: engine.stateRoot,
    cgroups: cgroupLayout().mode,
    kernel: release(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    nftTable: engine.nftTable,
  };
}
