/**
 * husk as a library: `import { Runtime } from "husk"` on Node ≥ 20 or Bun. The same core the
 * CLIs use; see src/runtime/runtime.ts for the OCI runtime object.
 */

export type { LinuxResources } from "./cgroups/resources.ts";
export {
  type AttachEnd,
  type AttachSession,
  type AttachStreamOptions,
  type Change,
  type CommitOptions,
  Container,
  type ContainerFilters,
  type ContainerInspect,
  ContainerProcess,
  type ContainerSummary,
  type DetachedRunOptions,
  Engine,
  type EngineInfo,
  type EngineOptions,
  type EngineRunOptions,
  type ExecRunOptions,
  type ExitStatus,
  type IdMapping,
  type Limits,
  type LogEntry,
  type OutputChunk,
  type OutputLine,
  type PortMapping,
  type PortSpec,
  type PushOptions,
  type PushResult,
  type RunOptions as StartOptions,
  type RunResult,
  type SpawnExecOptions,
  type SpawnOptions,
  type StdinSource,
  type TmpfsSpec,
  type Ulimit,
  type VersionReport,
  type VolumeSpec,
} from "./engine/index.ts";
export {
  AbortError,
  ConfigError,
  ConflictError,
  ExecError,
  HuskError,
  NotFoundError,
  StepError,
  TimeoutError,
} from "./errors.ts";
export { defaultSpec } from "./oci/default-spec.ts";
export type { Mount, Process, Spec } from "./oci/types.ts";
export type { BundleSource, ContainerState, CreateOptions, ExecOptions, RunOptions, RuntimeOptions } from "./runtime/runtime.ts";
export { Runtime } from "./runtime/runtime.ts";
