/**
 * Named volumes: a directory per volume under <dataRoot>/volumes/<name>/_data, with its record
 * in volume.json, made and removed under the volumes directory's lock. A volume mounted into
 * a container is bound from _data; on first use an empty volume gets a copy of what the image
 * has at the mount point (docker's copy-up).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError, quote } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import { lockExclusive } from "../sys/index.ts";
import { NAME_PATTERN } from "./options.ts";
import { newId } from "./records.ts";

/** docker's mark of a volume made without a name (`-v /path`, an image's VOLUME). */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

export interface VolumeInfo {
  Name: string;
  Driver: "local";
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  Options: Record<string, string>;
}

export class Volumes {
  readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, "volumes");
  }

  #path(name: string, ...parts: string[]): string {
    if (!NAME_PATTERN.test(name)) throw new HuskError(`invalid volume name ${quote(name)}: letters, digits, "_", "." and "-"`);
    return join(this.dir, name, ...parts);
  }

  async #locked<T>(fn: () => T | Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const release = await lockExclusive(this.dir, helperPath());
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** The volume, made if missing (as `docker volume create` and `run -v name:/path` do). */
  async create(name: string, labels: Record<string, string> = {}): Promise<VolumeInfo> {
    const file = this.#path(name, "volume.json");
    return this.#locked(() => {
      const existing = this.#read(name);
      if (existing) return existing;
      const info: VolumeInfo = {
        Name: name,
        Driver: "local",
        Mountpoint: this.#path(name, "_data"),
        CreatedAt: new Date().toISOString(),
        Labels: labels,
        Scope: "local",
        Options: {},
      };
      mkdirSync(info.Mountpoint, { recursive: true, mode: 0o755 });
      writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 1));
      renameSync(`${file}.tmp`, file);
      return info;
    });
  }

  /** A volume with a random name (64 hex digits, as docker's), marked anonymous. */
  createAnonymous(): Promise<VolumeInfo> {
    return this.create(newId(), { [ANONYMOUS_LABEL]: "" });
  }

  #read(name: string): VolumeInfo | undefined {
    try {
      return JSON.parse(readFileSync(this.#path(name, "volume.json"), "utf8")) as VolumeInfo;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new HuskError(`corrupt volume record for ${name}`);
    }
  }

  inspect(name: string): VolumeInfo {
    const info = this.#read(name);
    if (!info) throw new HuskError(`no such volume: ${name}`);
    return info;
  }

  exists(name: string): boolean {
    return this.#read(name) !== undefined;
  }

  list(): VolumeInfo[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      try {
        const v = NAME_PATTERN.test(n) ? this.#read(n) : undefined;
        return v ? [v] : [];
      } catch {
        return [];
      }
    });
  }

  /** Remove a volume; `inUse` names the containers that use it (then refused). */
  async remove(name: string, inUse: (name: string) => string[]): Promise<void> {
    await this.#locked(() => {
      if (!this.#read(name)) throw new HuskError(`no such volume: ${name}`);
      const users = inUse(name);
      if (users.length > 0) throw new HuskError(`volume ${name} is in use by container ${users.join(", ")}`);
      rmSync(this.#path(name), { recursive: true, force: true });
    });
  }

  /**
   * Docker's copy-up: an empty volume mounted where the image has a directory gets that
   * directory's content (owners and modes kept), layer by layer from the bottom.
   */
  async copyUp(name: string, layerDirs: string[], target: string): Promise<void> {
    const data = this.#path(name, "_data");
    if (readdirSync(data).length > 0) return;
    for (const layer of layerDirs) {
      const src = join(layer, target);
      let isDir = false;
      try {
        isDir = lstatSync(src).isDirectory();
      } catch {}
      if (!isDir || !existsSync(src)) continue;
      await execFileAsync("cp", ["-a", `${src}/.`, `${data}/`]).catch((err: Error) => {
        throw new HuskError(`copy the image's ${target} into volume ${name}: ${err.message}`);
      });
    }
  }
}

/** node:child_process, loaded when first used: most containers copy nothing. */
function execFileAsync(file: string, args: string[]): Promise<unknown> {
  const { execFile } = process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
  const { promisify } = process.getBuiltinModule("node:util") as typeof import("node:util");
  return promisify(execFile)(file, args);
}
