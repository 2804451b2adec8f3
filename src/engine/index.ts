/**
 * The engine as a library: `new Engine()` runs images as docker does (see engine.ts).
 *
 *   const engine = new Engine();
 *   const r = await engine.run("busybox", ["sh", "-c", "echo hi"], { network: "none" });
 *   await using box = await engine.start("busybox", ["sleep", "60"], { name: "w1" });
 */

export type { PushOptions, PushResult } from "../image/push.ts";
export type { AttachEnd, AttachSession, AttachStreamOptions } from "./attach.ts";
export type { CommitOptions } from "./commit.ts";
export type { CopyOptions } from "./copy.ts";
export type { ContainerUsage, DiskUsage, ImageUsage, UsageRow, VolumeUsage } from "./df.ts";
export type { Change } from "./diff.ts";
export {
  Container,
  type ContainerSummary,
  DEFAULT_DATA_ROOT,
  DEFAULT_STATE_ROOT,
  type DetachedRunOptions,
  Engine,
  type EngineOptions,
  type EngineRunOptions,
  type ExecRunOptions,
  type LiveState,
  type LogEntry,
  type RunResult,
  type SpawnExecOptions,
  type SpawnOptions,
} from "./engine.ts";
export { AbortError, ExecError, TimeoutError } from "./errors.ts";
export type { ContainerFilters } from "./filters.ts";
export type { EngineInfo, VersionReport } from "./info.ts";
export type { ContainerInspect, PortMapping } from "./inspect.ts";
export type { AttachedResult, AttachOptions } from "./lifecycle.ts";
export type { IdMapping, Limits, PortSpec, RunOptions, TmpfsSpec, Ulimit, VolumeSpec } from "./options.ts";
export type { ContainerRecord } from "./records.ts";
export type { ContainerStats, StatsOptions } from "./stats.ts";
export { ContainerProcess, type ExitStatus, type OutputChunk, type OutputLine, type StdinSource } from "./stdio.ts";
export type { PruneOptions, PruneReport } from "./system.ts";
export type { TopResult } from "./top.ts";
export type { VolumeInfo } from "./volumes.ts";
