/**
 * Runtime state: one directory per container under --root (default /run/husk), holding
 * state.json, cgroup.json and, between create and start, exec.fifo. The JSON files are written
 * to a temp file and renamed, so readers never see half a file.
 *
 * cgroup.json is the record of the cgroup directories husk made for the container, kept apart
 * from state.json so that it can be written before the first mkdir (a create killed at any
 * point leaves a record of what it may have made) and survives a damaged state.json.
 */

import { ConflictError, HuskError, NotFoundError } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import type { Spec } from "../oci/types.ts";
import { files, nodeFs } from "../sys/files.ts";
import { lockExclusive } from "../sys/index.ts";
import { join } from "../sys/posix-path.ts";

export { DEFAULT_ROOT } from "./default-root.ts";
export const EXEC_FIFO = "exec.fifo";
export const STATE_FILE = "state.json";
const CGROUP_RECORD = "cgroup.json";

export interface SavedState {
  ociVersion: string;
  id: string;
  /** Init pid in husk's pid namespace; 0 once known stopped. */
  pid: number;
  /** Start time of the init (field 22 of /proc/<pid>/stat), to tell a reused pid from ours. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The container's cgroup: hierarchy key → host directory (runc's cgroup_paths). */
  cgroupPaths: Record<string, string>;
  /** The spec, for hooks and namespaces on exec/delete (the bundle may change meanwhile). */
  spec: Spec;
}

/** cgroup.json: the container's cgroup and which of its directories husk made. */
export interface CgroupRecord {
  /** Hierarchy key → directory, as state.json's cgroupPaths. */
  paths: Record<string, string>;
  /** Directories husk made (parents first); delete removes these and no others. */
  created: string[];
  /**
   * Written before the mkdirs: `created` lists what may have been made (every directory that
   * did not exist then), and no process of the container can be in the cgroup yet.
   */
  pending?: boolean;
}

import { validateId } from "./container-id.ts";

export { MAX_ID_LENGTH, validateId } from "./container-id.ts";

export function stateDir(root: string, id: string): string {
  validateId(id);
  return join(root, id);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The reason `value` is not a usable SavedState, or undefined if it is one. */
function stateProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "not a JSON object";
  const kinds: [keyof SavedState, string][] = [
    ["id", "string"],
    ["pid", "number"],
    ["pidStartTime", "string"],
    ["bundle", "string"],
    ["cgroupPaths", "object"],
    ["spec", "object"],
  ];
  const bad = kinds.filter(([k, kind]) => (kind === "object" ? !isObject(value[k]) : typeof value[k] !== kind)).map(([k]) => k);
  return bad.length > 0 ? `missing or invalid ${bad.join(", ")}` : undefined;
}

/** JSON of a state file; undefined if it does not exist. Other read errors and bad JSON throw `problem`. */
function readJson(dir: string, name: string, problem: (reason: string) => HuskError): unknown {
  let text: string;
  try {
    text = files().readFile(join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw problem((err as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw problem(`not valid JSON (${(err as Error).message})`);
  }
}

function writeJson(dir: string, name: string, value: unknown): void {
  writeText(dir, name, JSON.stringify(value));
}

function writeText(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}`);
  const { writeFileSync, renameSync } = nodeFs();
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, join(dir, name));
}

/** The container's state; "container does not exist" without a state.json, a clear error for a damaged one. */
export function readState(root: string, id: string): SavedState {
  const dir = stateDir(root, id);
  const corrupt = (reason: string) => new HuskError(`corrupt state file ${join(dir, STATE_FILE)}: ${reason}`);
  const value = readJson(dir, STATE_FILE, corrupt);
  if (value === undefined) throw new NotFoundError("container does not exist");
  const problem = stateProblem(value);
  if (problem) throw corrupt(problem);
  return value as SavedState;
}

/**
 * Write state.json. The spec is most of it and the same in each of a create's two writes
 * (before the launch, and with the pid): `specJson` (create's, from spec-json.ts), made once,
 * saves the second its stringify (~0.2 ms in the flow, a tenth of a container's time on husk's thread).
 */
export function writeState(dir: string, state: SavedState, specJson = JSON.stringify(state.spec)): void {
  const { spec: _, ...rest } = state;
  writeText(dir, STATE_FILE, `${JSON.stringify(rest).slice(0, -1)},"spec":${specJson}}`);
}

/** The cgroup record of the container in `dir`; undefined if there is none. Throws if damaged. */
export function readCgroupRecord(dir: string): CgroupRecord | undefined {
  const corrupt = (reason: string) => new HuskError(`corrupt cgroup record ${join(dir, CGROUP_RECORD)}: ${reason}`);
  const value = readJson(dir, CGROUP_RECORD, corrupt);
  if (value === undefined) return undefined;
  const ok =
    isObject(value) &&
    isObject(value.paths) &&
    Object.values(value.paths).every((p) => typeof p === "string") &&
    Array.isArray(value.created) &&
    value.created.every((p) => typeof p === "string");
  if (!ok) throw corrupt("expected {paths, created}");
  return value as unknown as CgroupRecord;
}

export function writeCgroupRecord(dir: string, record: CgroupRecord): void {
  writeJson(dir, CGROUP_RECORD, record);
}

/**
 * Make the state directory; refuses an id in use. 0711: an init that is root only in its user
 * namespace must still reach exec.fifo (which belongs to it) by path.
 */
export function makeStateDir(root: string, id: string): string {
  const dir = stateDir(root, id);
  const { mkdirSync } = nodeFs();
  mkdirSync(root, { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new ConflictError(`container with id exists: ${id}`);
    throw err;
  }
  return dir;
}

/**
 * Remove a state directory: the files husk keeps there one by one (files.ts, no node:fs for
 * `delete`), then the directory; anything else in it (a temp file a writer left) and any
 * failure go to rmSync's recursive walk.
 */
export function removeStateDir(dir: string): void {
  const fs = files();
  try {
    for (const name of [STATE_FILE, CGROUP_RECORD, EXEC_FIFO]) {
      // exec.fifo is gone after a start and never made by run: asked first, as a failed
      // unlink's exception costs the caller's thread more than the access.
      if (name === EXEC_FIFO && !fs.exists(join(dir, name))) continue;
      try {
        fs.unlink(join(dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    fs.rmdir(dir);
  } catch {
    nodeFs().rmSync(dir, { recursive: true, force: true });
  }
}

export function listIds(root: string): string[] {
  const { existsSync, readdirSync } = nodeFs();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, STATE_FILE)))
    .map((d) => d.name)
    .sort();
}

/** Write a pid file whole, then rename: a client polling it never reads a partial pid (as runc). */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const { writeFileSync, renameSync } = nodeFs();
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

/**
 * Run fn holding an exclusive flock on the container's state directory, so that two clients
 * changing one container (start racing delete, two updates) take turns.
 */
export async function withStateLock<T>(root: string, id: string, fn: () => T | Promise<T>): Promise<T> {
  let release: () => void;
  try {
    release = await lockExclusive(stateDir(root, id), helperPath());
  } catch (err) {
    if (err instanceof HuskError) throw err;
    throw new NotFoundError("container does not exist");
  }
  try {
    return await fn();
  } finally {
    release();
  }
}
