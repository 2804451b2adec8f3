/**
 * The engine's record of each container, beside the runtime's state (which lives under the
 * state root and says only what the OCI runtime knows). One directory per container:
 *
 *   <dataRoot>/containers/<id>/config.json   the record (written whole: temp + rename)
 *                             /upper /work   the overlay's writable layer (rootfs.ts)
 *                             /rootfs        the overlay's mount point (mounted in the container's
 *                                            own mount namespace, so never on the host)
 *                             /etc           hosts, hostname, resolv.conf (bound into the container)
 *                             /container.log JSON lines from the monitor (detached containers)
 *                             /exit          the monitor's record of the exit status
 *                             /attach        the monitor's socket attachers connect to (attach.ts)
 *                             /launch.json   the spec and overlay it starts with (lifecycle.ts)
 *   <dataRoot>/containers/.removing/<id>.<pid>.<n>   a removed container's directory, being deleted
 *   <dataRoot>/containers/.names/<name>      the id holding the name (claimed under the containers' lock)
 *
 * The record is written before anything it names is made (a create killed half way leaves a
 * record `rm -f` follows) and changed under the directory's flock; a name is claimed under the
 * containers directory's flock, so two runs cannot take one name. The names are an index of
 * files, so that a create or a lookup by name reads one small file, not every container's record
 * (with 200 containers on the host, reading them all cost a `run` ~5 ms and a named one ~19 ms).
 * A name file whose id has no record (a removal killed half way) holds nothing; a data root from
 * before the index gets one, made from the records, at its first create.
 *
 * Removing a container is one rename out of the way (its id and name are free at once); the
 * unlinks of its writable layer, /etc files and record (~1.5 ms on ext4, far more when the disk
 * is busy) come later, when the process would only be waiting: the next container's start
 * deletes everything under .removing while that container runs (sweep), and a process that
 * starts none deletes its own after IDLE_DELETE_MS, on a timer that does not keep it alive. So a
 * CLI's `run --rm` exits without them (the next run deletes them), and a library's run loop
 * deletes them inside its next container's wait rather than ahead of its next create.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError, NotFoundError, quote } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import type { PublishedPort } from "../network/store.ts";
import { endRemover, type LockReuse, lockExclusive, type RemoveReuse, releaseLocks, removeTree } from "../sys/index.ts";
import type { RestartPolicy } from "./restart-policy.ts";

export interface AttachmentRecord {
  network: string;
  ifname: string;
  address: string;
  prefix: number;
  gateway: string;
  mac: string;
  hostVeth: string;
  ports: PublishedPort[];
}

export interface MountRecord {
  type: "volume" | "bind" | "tmpfs";
  /** The volume's name (volumes only). */
  name?: string;
  /** Host path (the volume's data directory for volumes; "tmpfs" for tmpfs). */
  source: string;
  destination: string;
  rw: boolean;
  /** A volume made for this container alone (`-v /path`, the image's VOLUMEs): `rm -v` and --rm remove it. */
  anonymous?: boolean;
}

/** creating: being made or started (a killed one is what `rm -f` removes); created: made, never started. */
export type RecordStatus = "creating" | "created" | "running" | "exited";

export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  /** The image as the caller named it, and its id. */
  image: string;
  imageId: string;
  created: string;
  /** argv[0] and the rest, as docker's Path and Args. */
  path: string;
  args: string[];
  config: {
    hostname: string;
    env: string[];
    cwd: string;
    user: string;
    entrypoint: string[];
    cmd: string[];
    labels: Record<string, string>;
    /** What stop sends first (--stop-signal, else the image's StopSignal; absent: SIGTERM). */
    stopSignal?: string;
    /** Seconds stop waits before SIGKILL (--stop-timeout; absent: 10). */
    stopTimeout?: number;
    /** A terminal (-t): the container's stdio is a pty. */
    tty?: boolean;
    /** -i: its stdin stays open and what attachers type reaches it (docker's OpenStdin). */
    openStdin?: boolean;
  };
  hostConfig: {
    autoRemove: boolean;
    /** --restart (absent: no). */
    restartPolicy?: RestartPolicy;
    networkMode: string;
    portBindings: { containerPort: number; hostPort: number; hostIp: string; proto: string }[];
    memory: number;
    cpus: number;
    pidsLimit: number;
    capAdd: string[];
    capDrop: string[];
    privileged: boolean;
    readOnly: boolean;
    /** docker's --security-opt strings in effect (records before these options lack them). */
    securityOpt?: string[];
    ulimits?: { name: string; soft: number; hard: number }[];
    /** The user namespace's maps ("CONTAINER:HOST:COUNT"), if it has one. */
    uidMap?: string[];
    gidMap?: string[];
    /** --network-alias, --add-host ("name:address"), --dns, --dns-search, --dns-option. */
    networkAliases?: string[];
    extraHosts?: string[];
    dns?: string[];
    dnsSearch?: string[];
    dnsOptions?: string[];
  };
  /** Where the runtime's state is (its --root) and the nftables table ports are in. */
  stateRoot: string;
  nftTable: string;
  /** Run by a monitor (husk run -d, Engine.start), with a log. */
  detached: boolean;
  status: RecordStatus;
  /**
   * The process making it, until it is made (create drops it; a run's record says running or
   * is removed): a "creating" or "created" record whose creator is gone was left by a killed run.
   */
  creator?: { pid: number; startTime: string };
  pid: number;
  pidStartTime: string;
  /** The native monitor's pid (detached containers), and its start time (/proc/PID/stat's). */
  monitorPid?: number;
  monitorStartTime?: string;
  /** `husk pause`: the pid it froze; a start gives the container a new pid, and so ends it. */
  pausedPid?: number;
  /** Restarts made by its restart policy since it was last started by hand. */
  restartCount?: number;
  /** The wait before its last policy restart (restart-policy.ts's back-off). */
  restartDelayMs?: number;
  /** The `husk _exited` process waiting out the back-off before its policy's restart ("Restarting" meanwhile). */
  restartWaiter?: { pid: number; startTime: string };
  /** `husk stop` ended it: its restart policy leaves it alone until it is started by hand. */
  stoppedByUser?: boolean;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** The signal that ended it, 0 if none. */
  signal?: number;
  /** Why its last start failed (docker's State.Error); cleared by the next start. */
  error?: string;
  /** The network it asked for (bridge networks are named here before anything is attached). */
  network?: string;
  networks: AttachmentRecord[];
  mounts: MountRecord[];
}

export const CONFIG_FILE = "config.json";
export const LOG_FILE = "container.log";
export const EXIT_FILE = "exit";
/** The monitor's socket for `husk attach` (native/monitor.c), while the container runs. */
export const ATTACH_SOCKET = "attach";
/** What starting it again needs: the spec and rootfs mount it was made with (lifecycle.ts). */
export const LAUNCH_FILE = "launch.json";

export function newId(): string {
  return Buffer.from(randomBytes(32)).toString("hex");
}

const REMOVING = ".removing";
const NAMES = ".names";

/** A name another container holds: create's, rename's and the engine's early check's one error. */
export function nameInUse(name: string, holder: string): HuskError {
  return new HuskError(
    `the container name "/${name}" is already in use by container ${holder.slice(0, 12)}: remove it or choose another name`,
  );
}
/** A name that can be a file name in .names (the engine checks names against docker's pattern first). */
const NAME_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class Records {
  readonly dir: string;
  /** Names this instance gave directories it moved to .removing (with the pid: unique per process). */
  #removed = 0;
  /** Deletions running on the thread pool, and removals waiting for IDLE_DELETE_MS. */
  readonly #deleting = new Set<Promise<void>>();
  readonly #idleDeletes = new Map<string, ReturnType<typeof setTimeout>>();
  /** Under Node, one lock helper serves this instance's locks one after another (sys/node.ts). */
  readonly #locks: LockReuse = {};
  /** What removeTree keeps between removals (Node: the helper's --remove process). */
  readonly #removals: RemoveReuse = {};

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, "containers");
  }

  path(id: string, ...parts: string[]): string {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new HuskError(`invalid container id ${quote(id)}`);
    return join(this.dir, id, ...parts);
  }

  read(id: string): ContainerRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(id, CONFIG_FILE), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new HuskError(`corrupt container record ${this.path(id, CONFIG_FILE)}`);
    }
  }

  write(rec: ContainerRecord): void {
    const file = this.path(rec.id, CONFIG_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec, null, 1), { mode: 0o600 });
    renameSync(tmp, file);
  }

  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => /^[0-9a-f]{64}$/.test(n) && existsSync(join(this.dir, n, CONFIG_FILE)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  all(): ContainerRecord[] {
    return this.ids().flatMap((id) => {
      try {
        const r = this.read(id);
        return r ? [r] : [];
      } catch {
        return [];
      }
    });
  }

  /** By full id, name, or a unique id prefix (docker's lookup, in that order). */
  find(ref: string): ContainerRecord {
    if (typeof ref !== "string" || ref === "") throw new HuskError("a container name or id is needed");
    const hit =
      (/^[0-9a-f]{64}$/.test(ref) ? this.read(ref) : undefined) ??
      this.named(ref.startsWith("/") ? ref.slice(1) : ref) ??
      (() => {
        if (!/^[0-9a-f]+$/.test(ref)) return undefined;
        const byPrefix = this.ids().filter((id) => id.startsWith(ref));
        if (byPrefix.length > 1) throw new HuskError(`multiple containers found with id prefix ${ref}`);
        return byPrefix[0] === undefined ? undefined : this.read(byPrefix[0]);
      })();
    if (!hit) throw new NotFoundError(`no such container: ${ref}`);
    return hit;
  }

  /** The container holding a name, if any. */
  named(name: string): ContainerRecord | undefined {
    if (!existsSync(join(this.dir, NAMES))) return this.all().find((r) => r.name === name); // a data root without the index yet
    const id = this.#holder(name);
    const rec = id === undefined ? undefined : this.read(id);
    return rec?.name === name ? rec : undefined;
  }

  /** The id a name file names, if it is a name file's (names are docker's: no "/", never "." or ".."). */
  #holder(name: string): string | undefined {
    if (!NAME_FILE.test(name)) return undefined;
    const file = join(this.dir, NAMES, name);
    if (!existsSync(file)) return undefined; // a free name, the usual answer: no read's exception
    try {
      const id = readFileSync(file, "utf8");
      return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Under the containers' lock: the index of names, made from the records if this data root has none. */
  #ensureNames(): void {
    const names = join(this.dir, NAMES);
    if (existsSync(names)) return;
    const tmp = `${names}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    for (const r of this.all()) if (NAME_FILE.test(r.name)) writeFileSync(join(tmp, r.name), r.id, { mode: 0o600 });
    renameSync(tmp, names);
  }

  /** Run fn holding the container's lock. */
  async locked<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    const release = await lockExclusive(this.path(id), helperPath(), this.#locks).catch(() => {
      throw new HuskError(`no such container: ${id}`);
    });
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Claim a name and make the container's directory with its first record, under the
   * directory-wide lock: the name check and the claim are one step.
   */
  async create(rec: ContainerRecord, options: { nameGenerated?: boolean } = {}): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    const release = await lockExclusive(this.dir, helperPath(), this.#locks);
    try {
      this.#ensureNames();
      if (!NAME_FILE.test(rec.name)) throw new HuskError(`invalid container name ${quote(rec.name)}`);
      let other = this.named(rec.name);
      // A name husk made up that is taken: another one, as docker does (never the caller's).
      for (let tries = 0; other && options.nameGenerated && tries < 100; tries++) {
        rec.name = randomName();
        other = this.named(rec.name);
      }
      if (other) {
        throw nameInUse(rec.name, other.id);
      }
      // Free (or held by an id without a record: an older husk's removal killed half way): ours now.
      const nameFile = join(this.dir, NAMES, rec.name);
      writeFileSync(nameFile, rec.id, { mode: 0o600 });
      try {
        mkdirSync(this.path(rec.id), { mode: 0o711 });
        this.write(rec);
      } catch (err) {
        rmSync(nameFile, { force: true });
        throw err;
      }
    } finally {
      release();
    }
  }

  /**
   * Give a container another name (husk rename): the new one claimed and the old one freed under
   * the containers' lock, the record written with it; the caller holds the container's lock.
   */
  async rename(id: string, newName: string): Promise<ContainerRecord> {
    const release = await lockExclusive(this.dir, helperPath(), this.#locks);
    try {
      this.#ensureNames();
      if (!NAME_FILE.test(newName)) throw new HuskError(`invalid container name ${quote(newName)}`);
      const rec = this.read(id);
      if (!rec) throw new NotFoundError(`no such container: ${id}`);
      const other = this.named(newName);
      if (other && other.id !== id) throw nameInUse(newName, other.id);
      const old = rec.name;
      writeFileSync(join(this.dir, NAMES, newName), id, { mode: 0o600 });
      rec.name = newName;
      this.write(rec);
      if (old !== newName && this.#holder(old) === id) rmSync(join(this.dir, NAMES, old), { force: true });
      return rec;
    } finally {
      release();
    }
  }

  /**
   * Remove the container's directory: moved out of the way now, deleted in the background; its
   * name freed first (the caller has the record in hand: it is not read again).
   */
  async remove(rec: Pick<ContainerRecord, "id" | "name">): Promise<void> {
    const { id, name } = rec;
    this.#releaseName(name, id);
    const dir = this.path(id);
    const trash = join(this.dir, REMOVING, `${id}.${process.pid}.${++this.#removed}`);
    try {
      renameSync(dir, trash);
    } catch {
      if (!existsSync(dir)) return; // gone already
      // No .removing yet: make it, and try once more; whatever else happens, delete in place.
      try {
        mkdirSync(join(this.dir, REMOVING), { mode: 0o700 });
      } catch {}
      try {
        renameSync(dir, trash);
      } catch {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
    }
    const timer = setTimeout(() => this.#deleteTree(trash), IDLE_DELETE_MS);
    timer.unref();
    this.#idleDeletes.set(trash, timer);
  }

  /**
   * The name's file, if it names this id, removed while the container's record is still there.
   * No lock is needed for it then: a create claims a name only when no record holds it (see
   * named()), so nothing can have claimed this one since the file was read. (Freed after the
   * record, a create could take the name the moment the record was gone, and its claim must not
   * be the one deleted: that needed the containers' lock, a lock holder's round trip under Node.)
   * Until the record is gone too, a create may take the name and a listing show it twice.
   */
  #releaseName(name: string, id: string): void {
    if (this.#holder(name) === id) rmSync(join(this.dir, NAMES, name), { force: true });
  }

  /**
   * Off this thread (Bun's thread pool, or Node's --remove helper: sys' removeTree): the
   * unlinks of a directory the container just used take milliseconds on a busy ext4, time in
   * which this thread serves the running containers.
   */
  #deleteTree(dir: string): void {
    // Started here, a removal's own timer has nothing left to do.
    clearTimeout(this.#idleDeletes.get(dir));
    this.#idleDeletes.delete(dir);
    const done = removeTree(dir, helperPath(), this.#removals)
      .catch(() => {})
      .finally(() => this.#deleting.delete(done));
    this.#deleting.add(done);
  }

  /**
   * Everything under .removing deleted now (this process' removals waiting for IDLE_DELETE_MS
   * too), and awaited, and the lock holders and remover kept between calls ended (Engine.idle).
   */
  async idle(): Promise<void> {
    this.sweep();
    while (this.#deleting.size > 0) await Promise.all([...this.#deleting]);
    await releaseLocks(this.#locks);
    await endRemover(this.#removals);
  }

  /**
   * Delete what is under .removing: this process' removals, those of processes that exited or
   * died before deleting theirs (a concurrent sweep deleting the same is harmless). Called once
   * a container runs, when the caller is only waiting.
   */
  sweep(): void {
    let left: string[];
    try {
      left = readdirSync(join(this.dir, REMOVING));
    } catch {
      return;
    }
    for (const name of left) this.#deleteTree(join(this.dir, REMOVING, name));
  }
}

/** How long a removal waits for a sweep before its process deletes it itself. */
const IDLE_DELETE_MS = 100;

/** docker's generated names: adjective_surname. */
const LEFT = ["brave", "calm", "eager", "fond", "keen", "quirky", "sharp", "tender", "vivid", "witty", "zen", "bold"];
const RIGHT = ["curie", "darwin", "euler", "gauss", "hopper", "lovelace", "noether", "pike", "ritchie", "turing", "wing"];

/** adjective_surname and a number below 10000: 1.3 million names (with 100 below it, a host with 100 containers drew a taken one in 1 run of 132). */
export function randomName(): string {
  const b = randomBytes(4);
  return `${LEFT[b[0]! % LEFT.length]}_${RIGHT[b[1]! % RIGHT.length]}${((b[2]! << 8) | b[3]!) % 10000}`;
}

/** Web Crypto's generator (a global in Node and Bun): node:crypto costs Bun ~2.5 ms to load. */
function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
