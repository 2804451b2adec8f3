/**
 * Housekeeping: docker's prune verbs and podman's `system reset`, over one engine's roots.
 *
 * prune removes what nothing uses, each kind with the engine's own checks (a container that
 * runs, a volume or network a container names, an image a container was made from all stay):
 *
 *   containers  every container that is not running (created and exited ones, and the records
 *               a killed `run` left: "creating" whose creator is gone)
 *   networks    user networks no container is attached to (never the default network)
 *   volumes     unused anonymous volumes (docker 23+); with allVolumes, every unused volume
 *   images      untagged images no container uses; with all, every image no container uses
 *
 * reset takes everything of this engine off the host, records first, then what husk's naming
 * identifies, so that it also works after a crash (records half written, a container whose
 * monitor died, a veth or mount left behind):
 *
 *   1. containers by their records: killed, runtime state and cgroup deleted, networks released
 *   2. the ids known here — directories under <dataRoot>/containers (a record or not) and
 *      runtime states under the state root whose bundle is one of them: runtime delete --force,
 *      then the cgroups husk names `husk/<id>` in every hierarchy (its processes killed)
 *   3. networks by their records (a damaged one read from the store's spare copy): lease veths,
 *      the veths husk would name for a known id on a known network, the bridge if its MAC is the
 *      network's, the record; then the nftables table of this engine (inet <nftTable>) alone
 *   4. mounts under the data root, deepest first (MNT_DETACH)
 *   5. the data root's content; refused while a mount is still inside it (rm would reach into it)
 *
 * Nothing is touched that this engine's roots, table and records do not name.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { launch } from "../helper/driver.ts";
import { helperPath } from "../helper/path.ts";
import { deleteHostLink, hostLink, hostVethName } from "../network/links.ts";
import { deleteTableScript, runNft } from "../network/nft.ts";
import type { NetworkRecord } from "../network/store.ts";
import { cgroupLayout } from "../runtime/cgroup-setup.ts";
import { procStat } from "../runtime/proc.ts";
import { Runtime } from "../runtime/runtime.ts";
import { lockExclusive } from "../sys/index.ts";
import { unescapeMountPath } from "../sys/mountinfo.ts";
import { du } from "./df.ts";
import type { Engine } from "./engine.ts";
import { CONFIG_FILE, type ContainerRecord } from "./records.ts";
import { ANONYMOUS_LABEL } from "./volumes.ts";

export interface PruneOptions {
  containers?: boolean;
  images?: boolean;
  volumes?: boolean;
  networks?: boolean;
  /** Images: every image no container uses, not only untagged ones (docker's -a). */
  all?: boolean;
  /** Volumes: every unused volume, not only anonymous ones (`volume prune -a`). */
  allVolumes?: boolean;
}

export interface PruneReport {
  /** Container ids removed. */
  containers: string[];
  /** "untagged: busybox:latest" and "deleted: sha256:…" lines, docker's order. */
  images: { untagged: string[]; deleted: string[] };
  volumes: string[];
  networks: string[];
  /** Bytes freed (allocated blocks, as df counts them). */
  reclaimed: number;
}

/** What the engine lends this module beyond its public face. */
export interface SystemContext {
  defaultNetwork: string;
  warn: (message: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkPruneOptions(o: PruneOptions): void {
  if (typeof o !== "object" || o === null) throw new HuskError("must be an object", { origin: "PruneOptions" });
  for (const [k, v] of Object.entries(o))
    if (!["containers", "images", "volumes", "networks", "all", "allVolumes"].includes(k))
      throw new HuskError("unknown option", { origin: `PruneOptions.${k}` });
    else if (v !== undefined && typeof v !== "boolean") throw new HuskError("must be a boolean", { origin: `PruneOptions.${k}` });
}

/** Is the process making the container still at it? (`create` drops the mark once it is made.) */
function creatorAlive(rec: ContainerRecord): boolean {
  const c = rec.creator;
  if (!c) return false;
  return procStat(c.pid)?.startTime === c.startTime;
}

export async function prune(engine: Engine, options: PruneOptions, ctx: SystemContext): Promise<PruneReport> {
  checkPruneOptions(options ?? {});
  const o = options ?? {};
  const report: PruneReport = { containers: [], images: { untagged: [], deleted: [] }, volumes: [], networks: [], reclaimed: 0 };
  const containersDir = join(engine.dataRoot, "containers");
  if (o.containers) {
    for (const c of await engine.list({ all: true })) {
      if (c.state === "running") continue;
      let rec: ContainerRecord;
      try {
        rec = engine.record(c.id);
      } catch {
        continue;
      }
      // A run or create in progress (its process is alive and has not finished making it).
      if ((rec.status === "creating" || rec.status === "created") && creatorAlive(rec)) continue;
      const size = du(join(containersDir, c.id));
      try {
        await engine.remove(c.id);
        report.containers.push(c.id);
        report.reclaimed += size;
      } catch (err) {
        // Started meanwhile, or removed by someone else: not this prune's.
        if (!/no such container|is running/.test((err as Error).message)) ctx.warn((err as Error).message);
      }
    }
    report.reclaimed += await sweepUnrecorded(containersDir);
    // Removed containers' directories not yet deleted (records.ts: a CLI leaves them to the
    // next run): prune frees them now. Their size is counted already, or was by an earlier rm.
    await engine.idle();
  }
  if (o.networks) {
    for (const net of engine.networks.list()) {
      if (net.name === ctx.defaultNetwork) continue;
      try {
        await engine.networks.removeNetwork(net.name);
        report.networks.push(net.name);
      } catch (err) {
        if (!/in use|does not exist/.test((err as Error).message)) ctx.warn((err as Error).message);
      }
    }
  }
  if (o.volumes) {
    for (const v of engine.volumes.list()) {
      if (!o.allVolumes && !(ANONYMOUS_LABEL in (v.Labels ?? {}))) continue;
      if (engine.volumeUsers(v.Name).length > 0) continue;
      const size = du(join(engine.volumes.dir, v.Name));
      try {
        await engine.volumes.remove(v.Name, (n) => engine.volumeUsers(n));
        report.volumes.push(v.Name);
        report.reclaimed += size;
      } catch (err) {
        if (!/in use|no such volume/.test((err as Error).message)) ctx.warn((err as Error).message);
      }
    }
  }
  if (o.images) {
    const imagesDir = join(engine.dataRoot, "images");
    const before = du(imagesDir);
    for (const img of await engine.images.list()) {
      if (!o.all && img.repoTags.length > 0) continue;
      if (engine.imageUsers(img.id).length > 0) continue;
      try {
        const r = await engine.images.remove(img.id, { force: true });
        report.images.untagged.push(...r.untagged);
        report.images.deleted.push(...r.deleted);
      } catch (err) {
        if (!/no such image/.test((err as Error).message)) ctx.warn((err as Error).message);
      }
    }
    // What dead imports and pulls left (tmp/, leases/), and blobs no image refers to.
    await engine.images.prune({ dangling: false });
    report.reclaimed += Math.max(0, before - du(imagesDir));
  }
  return report;
}

/**
 * Container directories without a record: a run killed between making the directory and
 * writing its first record. Under the directory-wide lock that claim holds, so none is in the
 * making now.
 */
async function sweepUnrecorded(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  const release = await lockExclusive(dir, helperPath());
  let freed = 0;
  try {
    for (const n of readdirSync(dir)) {
      if (!/^[0-9a-f]{64}$/.test(n) || existsSync(join(dir, n, CONFIG_FILE))) continue;
      freed += du(join(dir, n));
      rmSync(join(dir, n), { recursive: true, force: true });
    }
  } finally {
    release();
  }
  return freed;
}

// ------------------------------------------------------------------ reset

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Ids of this engine's containers, from its records' directories and its runtime states. */
function knownIds(engine: Engine): string[] {
  const containersDir = join(engine.dataRoot, "containers");
  const ids = new Set(readdirOrEmpty(containersDir).filter((n) => /^[0-9a-f]{64}$/.test(n)));
  for (const n of readdirOrEmpty(engine.stateRoot)) {
    if (!/^[0-9a-f]{64}$/.test(n) || ids.has(n)) continue;
    // A runtime state is the engine's when its bundle is the container's directory here.
    try {
      const state = JSON.parse(readFileSync(join(engine.stateRoot, n, "state.json"), "utf8")) as { bundle?: string };
      if (state.bundle === join(containersDir, n)) ids.add(n);
    } catch {}
  }
  return [...ids];
}

/** Mount points as this process sees them. */
function mountPoints(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((f): f is string => !!f)
    .map(unescapeMountPath);
}

const inside = (path: string, root: string) => path.startsWith(`${root.replace(/\/+$/, "")}/`);

/** The directories husk names for container `id` in every cgroup hierarchy (no cgroupsPath: /husk/<id>). */
function cgroupDirs(id: string): string[] {
  let layout: ReturnType<typeof cgroupLayout>;
  try {
    layout = cgroupLayout();
  } catch {
    return [];
  }
  const mounts = new Set([...layout.v1.values(), ...(layout.v2Root ? [layout.v2Root] : [])]);
  return [...mounts].map((m) => join(m, "husk", id)).filter((d) => existsSync(d));
}

/** Kill what a cgroup directory (and those below it) holds, then remove them, deepest first. */
async function removeCgroupTree(dir: string): Promise<void> {
  for (const e of readdirOrEmpty(dir)) {
    const sub = join(dir, e);
    try {
      if (existsSync(join(sub, "cgroup.procs"))) await removeCgroupTree(sub);
    } catch {}
  }
  const procs = () => {
    try {
      return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  for (let i = 0; i < 100; i++) {
    const pids = procs();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await sleep(10);
  }
  rmdirSync(dir);
}

/** A network file the store cannot read: its last good copy (the store's spare, or the one being replaced). */
function recoverNetwork(root: string, name: string): NetworkRecord | undefined {
  for (const f of [`${name}.json`, `.${name}.json.old`, `.${name}.json.spare`]) {
    try {
      const rec = JSON.parse(readFileSync(join(root, f), "utf8")) as NetworkRecord;
      if (rec?.network?.name === name && typeof rec.network.bridge === "string" && Array.isArray(rec.leases)) return rec;
    } catch {}
  }
  return undefined;
}

async function unmount(path: string): Promise<void> {
  const MNT_DETACH = 2;
  const launched = await launch([{ what: `unmount ${path}`, op: { op: "umount", path, flags: MNT_DETACH } }], {
    preserveFds: 0,
  });
  await launched.exited;
}

export async function reset(engine: Engine, ctx: SystemContext): Promise<void> {
  const problems: string[] = [];
  const note = (what: string, err: unknown) => problems.push(`${what}: ${(err as Error).message ?? String(err)}`);
  // 1. By the records: each container stopped and removed the way `rm -f` does.
  for (const c of await engine.list({ all: true }).catch(() => [])) {
    await engine.remove(c.id, { force: true }).catch((err) => {
      if (!/no such container/.test((err as Error).message)) note(`container ${c.id.slice(0, 12)}`, err);
    });
  }

  // 2. What no readable record named: runtime states and cgroups of the ids known here.
  const ids = knownIds(engine);
  const runtime = new Runtime({ root: engine.stateRoot, onWarning: ctx.warn });
  for (const id of ids) {
    if (existsSync(join(engine.stateRoot, id)))
      await runtime
        .delete(id, { force: true })
        .catch((err) => ctx.warn(`container ${id.slice(0, 12)}: ${(err as Error).message}`));
    for (const dir of cgroupDirs(id)) await removeCgroupTree(dir).catch((err) => note(`cgroup ${dir}`, err));
    rmSync(join(engine.stateRoot, id), { recursive: true, force: true });
  }

  // The caches of compiled seccomp filters (runtime/seccomp-cache.ts) and converted default
  // profiles (engine/seccomp.ts): made again on the next create.
  for (const cache of ["@seccomp", "@seccomp-default"]) rmSync(join(engine.stateRoot, cache), { recursive: true, force: true });

  // 3. Networks: by their records, then the veths husk names for the known ids, then the table.
  const nets = engine.networks;
  try {
    await nets.store.locked(async () => {
      const names = new Set([...nets.store.names(), ctx.defaultNetwork]);
      for (const name of names) {
        const rec = recoverNetwork(nets.store.root, name);
        const veths = new Set(rec?.leases.map((l) => l.hostVeth) ?? []);
        for (const id of ids) for (let k = 0; k < 8; k++) veths.add(hostVethName(name, id, `eth${k}`));
        for (const v of veths) if (hostLink(v)) await deleteHostLink(v).catch((err) => note(`veth ${v}`, err));
        if (rec && hostLink(rec.network.bridge)) {
          let mac = "";
          try {
            mac = readFileSync(`/sys/class/net/${rec.network.bridge}/address`, "utf8").trim();
          } catch {}
          if (mac === rec.network.mac)
            await deleteHostLink(rec.network.bridge).catch((err) => note(`bridge ${rec.network.bridge}`, err));
        }
        if (existsSync(join(nets.store.root, `${name}.json`)) || rec) nets.store.remove(name);
      }
      await runNft(deleteTableScript(nets.table)).catch((err) => note(`nftables table inet ${nets.table}`, err));
    });
  } catch (err) {
    note("networks", err);
  }

  // 4. Mounts under the data root (and the state root's containers of ours), deepest first.
  const ours = (p: string) => inside(p, engine.dataRoot) || ids.some((id) => inside(p, join(engine.stateRoot, id)));
  for (const p of mountPoints()
    .filter(ours)
    .sort((a, b) => b.length - a.length)) {
    await unmount(p).catch((err) => {
      if (!/EINVAL|ENOENT/.test(String((err as HuskError).errno ?? (err as Error).message))) note(`unmount ${p}`, err);
    });
  }

  // 5. The data root's content, unless a mount is still inside it.
  const left = mountPoints().filter((p) => inside(p, engine.dataRoot));
  if (left.length > 0) problems.push(`mounts are still inside ${engine.dataRoot} (${left.join(", ")}): its content is kept`);
  else
    for (const n of readdirOrEmpty(engine.dataRoot)) {
      try {
        rmSync(join(engine.dataRoot, n), { recursive: true, force: true });
      } catch (err) {
        note(`remove ${join(engine.dataRoot, n)}`, err);
      }
    }
  if (problems.length > 0) throw new HuskError(`system reset left things behind: ${problems.join("; ")}`);
}
