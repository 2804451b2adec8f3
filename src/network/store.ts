/**
 * Networks and their leases on disk: one JSON file per network, `<dataRoot>/<name>.json` =
 * { network, leases }. Every change is made holding an exclusive flock on the data root and
 * written whole (a spare file + rename), so a reader never sees half a file and two processes —
 * or two calls in one — never hand out the same address.
 *
 * Writing is on every attach and detach, so it is made cheap: a rename over the file frees the
 * old inode, which on this kind of host (ext4, `discard`) costs more than the rest of the write.
 * So the old one is kept: the new text goes into `.<name>.json.spare` (an inode kept for this),
 * the current file is linked as `.<name>.json.old`, the spare renamed over it, and the old one
 * becomes the next spare. The spare is written over its own blocks (overwrite), not truncated
 * first. A reader that opened the file just before two writes could read a spare being
 * rewritten: read() tries again before calling a file corrupt.
 */
import {
  closeSync,
  constants,
  existsSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { helperPath } from "../helper/path.ts";
import { procStat } from "../runtime/proc.ts";
import { lockExclusive } from "../sys/index.ts";
import type { Proto } from "./nft.ts";

export interface NetworkDef {
  name: string;
  bridge: string;
  /** "10.90.0.0/16" */
  subnet: string;
  gateway: string;
  mtu: number;
  /** The bridge's MAC, fixed so it does not follow the lowest port's. */
  mac: string;
  created: string;
}

/** Who holds a lease: a process, recognised by its pid and start time (a reused pid is someone else). */
export interface Owner {
  pid: number;
  /** /proc/<pid>/stat field 22, clock ticks since boot. */
  startTime: number;
}

export interface PublishedPort {
  proto: Proto;
  /** "" for every host address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** One container interface on a network: its address and what husk made for it on the host. */
export interface Lease {
  containerId: string;
  ifname: string;
  address: string;
  mac: string;
  /** The host end of the veth pair. */
  hostVeth: string;
  owner?: Owner;
  ports: PublishedPort[];
  /** What other containers on the network resolve to this address (user networks; names.ts). */
  names?: string[];
  /** The container's hosts file, kept listing the others on its networks (names.ts). */
  hostsFile?: string;
  /**
   * An `nft` adding this lease's ports, recorded before it gets its script: if the owner dies
   * while it runs, the orphan may still commit, so reclaim waits for it to finish first.
   */
  pendingNft?: Owner;
}

/**
 * An address whose container is gone but whose veth may not be: the kernel frees a veth some
 * time after its network namespace dies (a detach with namespaceGone sends nothing), or after a
 * deletion nobody waited for. Until then the old interface may still answer for the address, so
 * it is handed to nobody; the entry goes once no link has that name and index (networks.ts).
 */
export interface Draining {
  address: string;
  containerId: string;
  hostVeth: string;
  /** The host end's ifindex: a new veth by the same name (the container started again) is another link. */
  ifindex: number;
  /** When it was released (ISO time). */
  since: string;
}

export interface NetworkRecord {
  network: NetworkDef;
  leases: Lease[];
  /** Absent in records older husks wrote. */
  draining?: Draining[];
  /**
   * The bridge's ifindex once its host side was made: while a link of that name has it, the
   * bridge is the one made (a reboot or a bridge made again gives another), so the check each
   * container on the network pays is a sysfs read, not the host's routes (networks.ts).
   */
  bridgeIndex?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkNetworkName(name: string): string {
  if (!NAME.test(name)) {
    throw new HuskError(`invalid network name ${JSON.stringify(name)}: letters, digits, "_", "." and "-", at most 64`);
  }
  return name;
}

export class Store {
  constructor(readonly root: string) {}

  private file(name: string): string {
    return join(this.root, `${checkNetworkName(name)}.json`);
  }

  /** Run fn holding the data root's lock (waiting for it without blocking the event loop). */
  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const release = await lockExclusive(this.root, helperPath());
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Is there a record of the network (written whole, so no lock is needed to ask)? */
  has(name: string): boolean {
    return existsSync(this.file(name));
  }

  read(name: string): NetworkRecord | undefined {
    const path = this.file(name);
    let value: unknown;
    for (let attempt = 1; ; attempt++) {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
      try {
        value = JSON.parse(text);
        break;
      } catch (err) {
        if (attempt === 3) throw new HuskError(`corrupt network file ${path}: ${(err as Error).message}`);
      }
    }
    const rec = value as NetworkRecord;
    if (typeof rec?.network?.name !== "string" || typeof rec.network.subnet !== "string" || !Array.isArray(rec.leases)) {
      throw new HuskError(`corrupt network file ${path}: expected {network, leases}`);
    }
    return rec;
  }

  /** Only while holding the lock. */
  write(rec: NetworkRecord): void {
    const path = this.file(rec.network.name);
    const { spare, old } = this.spares(rec.network.name);
    overwrite(spare, `${JSON.stringify(rec, null, 1)}\n`);
    rmSync(old, { force: true }); // left by a process killed between link and rename
    let linked = true;
    try {
      linkSync(path, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      linked = false; // the first write
    }
    renameSync(spare, path);
    if (linked) renameSync(old, spare);
  }

  private spares(name: string): { spare: string; old: string } {
    const base = join(this.root, `.${checkNetworkName(name)}.json`);
    return { spare: `${base}.spare`, old: `${base}.old` };
  }

  /** Only while holding the lock. */
  remove(name: string): void {
    const { spare, old } = this.spares(name);
    for (const f of [this.file(name), spare, old]) rmSync(f, { force: true });
  }

  names(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((f) => f.endsWith(".json") && !f.startsWith("."))
      .map((f) => f.slice(0, -5))
      .filter((n) => NAME.test(n))
      .sort();
  }

  all(): NetworkRecord[] {
    return this.names().flatMap((n) => this.read(n) ?? []);
  }
}

/** The start time of pid, or undefined if there is no such process. */
export function processStartTime(pid: number): number | undefined {
  const start = Number(procStat(pid)?.startTime ?? Number.NaN);
  return Number.isFinite(start) ? start : undefined;
}

/** An Owner for a live process (the caller's own by default). */
export function processOwner(pid = process.pid): Owner {
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new HuskError(`no process ${pid}`);
  return { pid, startTime };
}

/** Is the owner still there? A lease without one is kept (nobody can say it is stale). */
export function ownerAlive(owner: Owner | undefined): boolean {
  return owner === undefined || processStartTime(owner.pid) === owner.startTime;
}

/**
 * `text` as the whole of `path`, written over its own blocks and then cut to length: not
 * truncated to nothing first (writeFileSync's O_TRUNC), which on ext4 frees the block (a
 * discard, mounted `discard` as this VM's root is) and, for a file emptied and written again,
 * has ext4 start its writeback at close: 150–180 µs a write here, against ~13 µs this way. A
 * reader of the old inode (see above) that reads meanwhile sees the new text with the old one's
 * end after it, which does not parse: read() tries again.
 */
function overwrite(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    const bytes = Buffer.from(text);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
