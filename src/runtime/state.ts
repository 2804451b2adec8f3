/**
 * Runtime state: one directory per container under --root (default /run/husk), holding
 * state.json (written to a temp file and renamed, so readers never see half a file) and, between
 * create and start, exec.fifo.
 */
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import type { Spec } from "../spec/types.ts";
import { flock } from "../sys/bun.ts";

export const DEFAULT_ROOT = "/run/husk";
export const EXEC_FIFO = "exec.fifo";

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

const ID_PATTERN = /^[\w+\-.]+$/;

export function validateId(id: string): void {
  if (!id) throw new HuskError("container id cannot be empty");
  if (!ID_PATTERN.test(id) || id === "." || id === "..") {
    throw new HuskError(`invalid container id format: ${id}`);
  }
}

export function stateDir(root: string, id: string): string {
  validateId(id);
  return join(root, id);
}

export function readState(root: string, id: string): SavedState {
  const dir = stateDir(root, id);
  let text: string;
  try {
    text = readFileSync(join(dir, "state.json"), "utf8");
  } catch {
    throw new HuskError("container does not exist");
  }
  return JSON.parse(text) as SavedState;
}

export function writeState(dir: string, state: SavedState): void {
  const tmp = join(dir, `.state.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, join(dir, "state.json"));
}

/** Make the state directory; refuses an id in use. 0711 so the container's user can reach exec.fifo. */
export function makeStateDir(root: string, id: string): string {
  const dir = stateDir(root, id);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new HuskError(`container with id exists: ${id}`);
    throw err;
  }
  return dir;
}

export function removeStateDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function listIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, "state.json")))
    .map((d) => d.name)
    .sort();
}

/** Write a pid file whole, then rename: a client polling it never reads a partial pid (as runc). */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

/**
 * Run fn holding an exclusive flock on the container's state directory, so that two clients
 * changing one container (start racing delete, two updates) take turns.
 */
export async function withStateLock<T>(root: string, id: string, fn: () => T | Promise<T>): Promise<T> {
  let fd: number;
  try {
    fd = openSync(stateDir(root, id), constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    throw new HuskError("container does not exist");
  }
  try {
    flock(fd, true);
    return await fn();
  } finally {
    closeSync(fd);
  }
}
