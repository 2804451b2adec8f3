/**
 * Root filesystem steps: propagation of the new mount namespace, the rootfs bind, the spec's
 * mounts in order, the default devices and /dev symlinks, the root switch, then read-only
 * root, masked and read-only paths.
 *
 * Every target is Where.InRoot: the helper resolves it inside the rootfs (openat2
 * RESOLVE_IN_ROOT before the switch), so a hostile symlink in the image cannot redirect a
 * mount, mkdir or mknod onto the host.
 */
import { isAbsolute, join, posix, resolve } from "node:path";
import { HuskError } from "../errors.ts";
import {
  type MountOptions,
  MS_BIND,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  MS_SHARED,
  MS_SLAVE,
  parseMountOptions,
  propagationFlags,
} from "../oci/mount-options.ts";
import type { LinuxDevice, LinuxIDMapping, Mount, Spec } from "../oci/types.ts";
import type { PlanContext } from "./context.ts";
import { type Step, Where } from "./ops.ts";

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** The devices every container gets (runtime-spec "Default Devices"). */
export const DEFAULT_DEVICES: LinuxDevice[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

function mkdev(major: number, minor: number): number {
  // glibc's makedev, in plain arithmetic: JS bit operators would overflow at 32 bits.
  return (major % 0x1000) * 0x100 + (minor % 0x100) + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 2 ** 44;
}

function isBind(m: Mount, bind: boolean): boolean {
  return m.type === "bind" || bind;
}

function mountSource(m: Mount, ctx: PlanContext): string {
  const source = m.source ?? "";
  return source && !isAbsolute(source) ? resolve(ctx.bundle, source) : source;
}

/** The id mappings of an id-mapped mount: its own, or for plain "idmap" the container's. */
function idMappings(m: Mount, spec: Spec, idmap: boolean, origin: string): { uidMap: number[]; gidMap: number[] } | undefined {
  if (!idmap && m.uidMappings === undefined && m.gidMappings === undefined) return undefined;
  const uid = m.uidMappings ?? spec.linux?.uidMappings;
  const gid = m.gidMappings ?? spec.linux?.gidMappings;
  if (!uid?.length || !gid?.length) {
    throw new HuskError("an id-mapped mount needs uidMappings and gidMappings (its own or the container's)", { origin });
  }
  const flat = (maps: LinuxIDMapping[]) => maps.flatMap((x) => [x.containerID, x.hostID, x.size]);
  return { uidMap: flat(uid), gidMap: flat(gid) };
}

function planBindMount(m: Mount, i: number, ctx: PlanContext, steps: Step[], build: MountBuild): void {
  const origin = `mounts[${i}]`;
  const opts = parseMountOptions(m.options ?? []);
  const source = mountSource(m, ctx);
  if (!source) throw new HuskError("bind mount needs a source", { what: `mount on "${m.destination}"`, origin });
  if (!ctx.host.exists(source)) {
    throw new HuskError("no such file or directory", {
      what: `bind mount source "${source}"`,
      origin: `${origin}.source`,
      errno: "ENOENT",
    });
  }
  const what = `bind mount "${source}" on "${m.destination}"`;
  steps.push(
    ctx.host.isDirectory(source)
      ? { what: `create mount point "${m.destination}"`, origin, op: { op: "mkdirAll", path: m.destination, mode: 0o755 } }
      : { what: `create mount point "${m.destination}"`, origin, op: { op: "mkfile", path: m.destination, mode: 0o644 } },
  );
  const idmap = idMappings(m, build.spec, opts.idmap === true, origin);
  if (idmap) {
    // Only a process with CAP_SYS_ADMIN over the source's filesystem may id-map it: the
    // helper's parent makes the mount on the host, the container process attaches it.
    const slot = build.beforeClone.length;
    const recursion = (opts.recursiveBind ? 1 : 0) | (opts.idmapRecursive ? 2 : 0);
    build.beforeClone.push({
      what: `id-map "${source}" for "${m.destination}"`,
      origin,
      op: { op: "idmapMount", slot, source, recursion, ...idmap },
    });
    steps.push({ what, origin, op: { op: "attachMount", slot, target: m.destination } });
  } else if (build.userNs && ctx.host.root && build.beforeClone.length < DETACHED_SLOTS) {
    // In a user namespace the container's root is nobody on the host and may not reach the
    // source (a 0700 bundle directory): the helper's parent opens it before clone, as runc does
    // (open_tree needs CAP_SYS_ADMIN on the host; a rootless caller's sources are its own).
    const slot = build.beforeClone.length;
    build.beforeClone.push({
      what: `open bind mount source "${source}" for "${m.destination}"`,
      origin,
      op: { op: "openTree", slot, source, recursive: opts.recursiveBind === true },
    });
    steps.push({ what, origin, op: { op: "attachMount", slot, target: m.destination } });
  } else {
    steps.push({
      what,
      origin,
      op: mountOp(source, Where.Host, m.destination, "", MS_BIND | (opts.recursiveBind ? MS_REC : 0), ""),
    });
  }
  // A bind mount ignores every flag but MS_BIND|MS_REC; the others need a remount.
  const remountFlags = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (remountFlags !== 0) {
    steps.push({
      what: `remount "${m.destination}" with ${(m.options ?? []).join(",")}`,
      origin,
      op: mountOp("", Where.Host, m.destination, "", MS_BIND | MS_REMOUNT | remountFlags, ""),
    });
  }
  planRecursiveAttrs(m.destination, opts, origin, steps);
  planPropagation(m.destination, opts.propagation, origin, steps);
}

/** "rro", "rnosuid" …: mount(2) cannot change submounts, mount_setattr(AT_RECURSIVE) can. */
function planRecursiveAttrs(destination: string, opts: MountOptions, origin: string, steps: Step[]): void {
  if (!opts.recursiveAttr) return;
  steps.push({
    what: `set recursive mount attributes on "${destination}"`,
    origin: `${origin}.options`,
    op: { op: "mountSetattr", target: destination, ...opts.recursiveAttr },
  });
}

function planPropagation(destination: string, propagation: number[], origin: string, steps: Step[]): void {
  for (const flags of propagation) {
    steps.push({
      what: `set propagation of "${destination}"`,
      origin,
      op: mountOp("", Where.Host, destination, "", flags, ""),
    });
  }
}

/** A mount op whose target is resolved inside the container's root. */
function mountOp(source: string, sourceWhere: Where, target: string, fstype: string, flags: number, data: string) {
  return { op: "mount" as const, source, sourceWhere, target, targetWhere: Where.InRoot, fstype, flags, data };
}

/** Its twin for the host side (a helper's own mount namespace before any root): source and target are host paths. */
export function hostMountOp(source: string, target: string, fstype: string, flags: number, data: string) {
  return { op: "mount" as const, source, sourceWhere: Where.Host, target, targetWhere: Where.Host, fstype, flags, data };
}

function planCgroupMount(m: Mount, i: number, ctx: PlanContext, steps: Step[]): void {
  const origin = `mounts[${i}]`;
  const opts = parseMountOptions(m.options ?? []);
  steps.push({ what: `create mount point "${m.destination}"`, origin, op: { op: "mkdirAll", path: m.destination, mode: 0o755 } });
  const flags = opts.flags & ~MS_RDONLY;
  if (ctx.cgroupMount.kind === "v2") {
    steps.push({
      what: `mount "cgroup2" on "${m.destination}"`,
      origin,
      op: mountOp("cgroup2", Where.Host, m.destination, "cgroup2", opts.flags, ""),
    });
    return;
  }
  // v1: a tmpfs holding one directory per hierarchy, made read-only at the end if asked.
  steps.push({
    what: `mount "tmpfs" on "${m.destination}"`,
    origin,
    op: mountOp("tmpfs", Where.Host, m.destination, "tmpfs", flags, "mode=755"),
  });
  for (const h of ctx.cgroupMount.hierarchies) {
    const target = posix.join(m.destination, h.name);
    steps.push({ what: `create mount point "${target}"`, origin, op: { op: "mkdirAll", path: target, mode: 0o755 } });
    if (h.hostPath) {
      steps.push({
        what: `bind mount cgroup "${h.hostPath}" on "${target}"`,
        origin,
        op: mountOp(h.hostPath, Where.Host, target, "", MS_BIND, ""),
      });
      steps.push({
        what: `remount cgroup "${target}"`,
        origin,
        op: mountOp("", Where.Host, target, "", MS_BIND | MS_REMOUNT | opts.flags, ""),
      });
    } else {
      steps.push({
        what: `mount cgroup "${h.name}" on "${target}"`,
        origin,
        op: mountOp("cgroup", Where.Host, target, h.fstype, opts.flags, h.data),
      });
    }
  }
  if (opts.flags & MS_RDONLY) {
    steps.push({
      what: `remount "${m.destination}" read-only`,
      origin,
      op: mountOp("", Where.Host, m.destination, "", MS_REMOUNT | opts.flags, "mode=755"),
    });
  }
}

function planMount(m: Mount, i: number, ctx: PlanContext, sharesHostNetwork: boolean, steps: Step[], build: MountBuild): void {
  const origin = `mounts[${i}]`;
  const opts = parseMountOptions(m.options ?? []);
  if (m.type === "cgroup" || m.type === "cgroup2") {
    planCgroupMount(m, i, ctx, steps);
    return;
  }
  // sysfs cannot be mounted in a user namespace that does not own the network namespace;
  // like runc, give such containers the host's /sys bound read-only instead.
  if (m.type === "sysfs" && sharesHostNetwork) {
    planBindMount(
      { ...m, type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] },
      i,
      ctx,
      steps,
      build,
    );
    return;
  }
  if (isBind(m, opts.bind)) {
    planBindMount(m, i, ctx, steps, build);
    return;
  }
  const source = m.source ?? m.type ?? "none";
  if (m.type === "proc" || m.type === "sysfs") {
    steps.push({
      what: `check the mount point "${m.destination}"`,
      origin,
      errors: { ENOTDIR: `${m.type} must be mounted on ordinary directory, not a symlink or a file` },
      op: { op: "refuseLink", path: m.destination },
    });
  }
  // The tmpfs op makes its own mount point: it must know whether the image had one.
  if (m.type !== "tmpfs") {
    steps.push({
      what: `create mount point "${m.destination}"`,
      origin,
      op: { op: "mkdirAll", path: m.destination, mode: 0o755 },
    });
  }
  if (opts.tmpcopyup && m.type !== "tmpfs") {
    throw new HuskError('"tmpcopyup" only applies to tmpfs mounts', { origin: `${origin}.options` });
  }
  if (m.type === "tmpfs") {
    // Like runc, a read-only tmpfs is mounted writable and made read-only once the whole tree
    // is in place: mount points and devices under it (a "ro" /dev's pts, shm, null …) need it so.
    if (opts.flags & MS_RDONLY) {
      build.readonlyLater.push({
        what: `remount "${m.destination}" read-only`,
        origin,
        op: mountOp("", Where.Host, m.destination, "", MS_BIND | MS_REMOUNT | (opts.flags & ~(MS_BIND | MS_REC)), ""),
      });
    }
    steps.push({
      what: opts.tmpcopyup ? `mount a tmpfs with a copy of "${m.destination}" on it` : `mount "${source}" on "${m.destination}"`,
      origin,
      op: {
        op: "tmpfs",
        target: m.destination,
        flags: opts.flags & ~MS_RDONLY,
        data: opts.data.join(","),
        source,
        copyUp: opts.tmpcopyup === true,
        // Like runc: a tmpfs over an image directory keeps that directory's mode unless told.
        inheritMode: !opts.data.some((d) => d.startsWith("mode=")),
      },
    });
  } else {
    steps.push({
      what: `mount "${source}" on "${m.destination}"`,
      origin,
      op: mountOp(source, Where.Host, m.destination, m.type ?? "", opts.flags, opts.data.join(",")),
    });
  }
  planRecursiveAttrs(m.destination, opts, origin, steps);
  planPropagation(m.destination, opts.propagation, origin, steps);
}

function planDevices(spec: Spec, ctx: PlanContext, inUserNs: boolean, steps: Step[]): void {
  const byPath = new Map<string, { dev: LinuxDevice; origin?: string }>();
  for (const dev of DEFAULT_DEVICES) byPath.set(dev.path, { dev });
  for (const [i, dev] of (spec.linux?.devices ?? []).entries()) byPath.set(dev.path, { dev, origin: `linux.devices[${i}]` });
  const dirs = new Set<string>();
  for (const { dev, origin } of byPath.values()) {
    const dir = posix.dirname(dev.path);
    if (!dirs.has(dir)) {
      dirs.add(dir);
      steps.push({ what: `create directory "${dir}" for devices`, origin, op: { op: "mkdirAll", path: dir, mode: 0o755 } });
    }
    if (inUserNs || !ctx.host.root) {
      // mknod is refused in a user namespace, and to a caller that is not root on the host (root
      // of rootless podman's user namespace, whose containers get no namespace of their own):
      // bind the host's node instead, as runc does.
      steps.push({ what: `create device "${dev.path}"`, origin, op: { op: "mkfile", path: dev.path, mode: 0o644 } });
      steps.push({
        what: `bind mount device "${dev.path}"`,
        origin,
        op: mountOp(dev.path, Where.Host, dev.path, "", MS_BIND, ""),
      });
      continue;
    }
    const type = dev.type === "b" ? S_IFBLK : dev.type === "p" ? S_IFIFO : S_IFCHR;
    steps.push({
      what: `create device "${dev.path}"`,
      origin,
      op: { op: "mknod", path: dev.path, mode: type | (dev.fileMode ?? 0o666), dev: mkdev(dev.major ?? 0, dev.minor ?? 0) },
    });
    steps.push({
      what: `set owner of device "${dev.path}"`,
      origin,
      op: { op: "chown", path: dev.path, uid: dev.uid ?? 0, gid: dev.gid ?? 0 },
    });
  }
  const links: [string, string][] = [
    ["/proc/self/fd", "/dev/fd"],
    ["/proc/self/fd/0", "/dev/stdin"],
    ["/proc/self/fd/1", "/dev/stdout"],
    ["/proc/self/fd/2", "/dev/stderr"],
    ["pts/ptmx", "/dev/ptmx"],
  ];
  if (ctx.host.exists("/proc/kcore")) links.push(["/proc/kcore", "/dev/core"]);
  for (const [target, path] of links) {
    steps.push({ what: `create symlink "${path}"`, op: { op: "symlink", target, path } });
  }
}

/** Does the spec bind the host's /dev (then devices are the host's, not ours to create)? */
function bindsHostDev(spec: Spec): boolean {
  return (spec.mounts ?? []).some(
    (m) =>
      posix.normalize(m.destination) === "/dev" &&
      (m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind")),
  );
}

/** What planning the mounts needs beyond one mount: the spec, and where parent steps go. */
interface MountBuild {
  spec: Spec;
  /** Steps for the helper's parent on the host, before clone (id-mapped mounts). */
  beforeClone: Step[];
  /** Read-only remounts of tmpfs mounts, after the root switch (runc's finalizeRootfs). */
  readonlyLater: Step[];
  /** The container is in a user namespace: a root caller's bind sources are opened by the helper's parent. */
  userNs: boolean;
}

/**
 * The mount points of spec.mounts that the helper's parent can make ahead in the detached root
 * in `slot` (precreate): those the mount steps create with mkdirAll or mkfile on the root's own
 * filesystem, that is not below the destination of a mount before them (that one's filesystem
 * holds them). The child's steps stay as they are and find them made.
 */
function precreateMountPoints(spec: Spec, mountSteps: Step[], slot: number): Step[] {
  const out: Step[] = [];
  const mounted: string[] = [];
  const below = (path: string, dir: string) => dir === "/" || path === dir || path.startsWith(`${dir}/`);
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    const origin = `mounts[${i}]`;
    const dest = posix.normalize(m.destination);
    const made = mountSteps.find(
      (st) => st.origin === origin && (st.op.op === "mkdirAll" || st.op.op === "mkfile") && st.op.path === m.destination,
    );
    if (made && (made.op.op === "mkdirAll" || made.op.op === "mkfile") && !mounted.some((d) => below(dest, d))) {
      out.push({
        what: `create mount point "${m.destination}" ahead`,
        origin,
        op: { op: "precreate", slot, path: m.destination, dir: made.op.op === "mkdirAll" },
      });
    }
    mounted.push(dest);
  }
  return out;
}

/** How many detached mounts the helper keeps between its parent and the child (native/root.c). */
const DETACHED_SLOTS = 128;

export interface RootfsPlan {
  /** Steps the helper's parent runs on the host before clone (id-mapped mounts). */
  beforeClone: Step[];
  /** Steps before the root switch (mounts, devices), run in the new mount namespace. */
  beforeSwitch: Step[];
  /** The switch itself. */
  switchRoot: Step[];
  /** Read-only root, masked and read-only paths, sysctls. */
  afterSwitch: Step[];
}

export function planRootfs(spec: Spec, ctx: PlanContext, userNs: boolean, sharesHostNetwork: boolean): RootfsPlan {
  const rootfs = resolve(ctx.bundle, spec.root?.path ?? "rootfs");
  const beforeSwitch: Step[] = [];
  const propagation = spec.linux?.rootfsPropagation;
  const requested = propagation ? propagationFlags(propagation) : 0;
  // Nothing mounted for the container may propagate back to the host, even if a later step
  // fails: the whole tree becomes a slave of the host's before anything is mounted. What
  // rootfsPropagation asks is applied to the new root once it is in place (below); "private"
  // or "slave" on "/" alone would leave a shared parent of the rootfs a peer of the host's, and
  // the rootfs bind and every mount on it would appear on the host. Only a shared request
  // keeps the host's peer groups (bidirectional volumes need them), with the rootfs's parent
  // made private so that the container's own mounts still stay in.
  const rootPropagation = requested & MS_SHARED ? requested : MS_REC | MS_SLAVE;
  beforeSwitch.push({
    what: `set propagation of "/" to ${rootPropagation === requested ? propagation : "rslave"}`,
    origin: propagation ? "linux.rootfsPropagation" : undefined,
    op: {
      op: "mount",
      source: "",
      sourceWhere: Where.Host,
      target: "/",
      targetWhere: Where.Host,
      fstype: "",
      flags: rootPropagation,
      data: "",
    },
  });
  // pivot_root refuses a new root whose parent mount is shared: with a shared
  // rootfsPropagation, make that parent private first (only in our namespace).
  if ((rootPropagation & MS_SHARED) !== 0 && ctx.host.mountPointOf) {
    const parent = ctx.host.mountPointOf(rootfs);
    beforeSwitch.push({
      what: `make the rootfs's parent mount "${parent}" private`,
      origin: "linux.rootfsPropagation",
      op: {
        op: "mount",
        source: "",
        sourceWhere: Where.Host,
        target: parent,
        targetWhere: Where.Host,
        fstype: "",
        flags: MS_PRIVATE,
        data: "",
      },
    });
  }
  // pivot_root needs the new root to be a mount point: root.path bound on itself, or the
  // filesystem the caller asked for (an overlay), mounted there in this mount namespace only.
  const build: MountBuild = { spec, beforeClone: [], readonlyLater: [], userNs };
  const rootMount = ctx.rootfsMount;
  const what = rootMount ? `mount ${rootMount.fstype} rootfs on "${rootfs}"` : `bind mount rootfs "${rootfs}"`;
  // A root caller's rootfs filesystem without a new user namespace is made by the helper's
  // parent, detached, and moved into place by the child (see the fsMount op: what making it
  // costs is not the container's); in a user namespace the child mounts it, as the child
  // also does when the parent could not.
  const detachedRoot = rootMount && !userNs && ctx.host.root ? 0 : undefined;
  if (rootMount && detachedRoot !== undefined) {
    build.beforeClone.push({
      what,
      origin: "root.path",
      op: { op: "fsMount", slot: detachedRoot, fstype: rootMount.fstype, source: rootMount.source, data: rootMount.data },
    });
    beforeSwitch.push({
      what,
      origin: "root.path",
      op: { op: "mountRootfs", slot: detachedRoot, target: rootfs, ...rootMount },
    });
  } else {
    beforeSwitch.push({
      what,
      origin: "root.path",
      op: {
        op: "mount",
        source: rootMount ? rootMount.source : rootfs,
        sourceWhere: Where.Host,
        target: rootfs,
        targetWhere: Where.Host,
        fstype: rootMount ? rootMount.fstype : "",
        flags: rootMount ? 0 : MS_BIND | MS_REC,
        data: rootMount ? rootMount.data : "",
      },
    });
  }
  beforeSwitch.push({ what: `open rootfs "${rootfs}"`, origin: "root.path", op: { op: "openRoot", path: rootfs } });
  // Mounts and nodes are created with exactly the modes asked for.
  beforeSwitch.push({ what: "set umask for rootfs setup", op: { op: "umask", mask: 0 } });
  const mountsFrom = beforeSwitch.length;
  for (const [i, m] of (spec.mounts ?? []).entries()) planMount(m, i, ctx, sharesHostNetwork, beforeSwitch, build);
  if (detachedRoot !== undefined)
    build.beforeClone.push(...precreateMountPoints(spec, beforeSwitch.slice(mountsFrom), detachedRoot));
  if (!bindsHostDev(spec)) planDevices(spec, ctx, userNs, beforeSwitch);
  // Like runc, a cwd missing from the image is created (root-owned, 0755).
  const cwd = spec.process?.cwd;
  if (cwd && cwd !== "/") {
    beforeSwitch.push({
      what: `create working directory "${cwd}"`,
      origin: "process.cwd",
      op: { op: "mkdirAll", path: cwd, mode: 0o755 },
    });
  }

  const switchRoot: Step[] = [
    ctx.noPivot
      ? { what: "move rootfs to / and chroot (--no-pivot)", op: { op: "chrootMove" } }
      : { what: "pivot_root into rootfs", origin: "root.path", op: { op: "pivotRoot" } },
  ];

  // Order as runc: sysctls while /proc/sys is still writable, then read-only and masked
  // paths, read-only tmpfs mounts, and the read-only root last.
  const afterSwitch: Step[] = [];
  // The rootfs bind inherited the private parent, not rootfsPropagation: apply it to the new
  // root itself (as crun does), so a "shared" root is a peer inside the container.
  if (requested) {
    afterSwitch.push({
      what: `set propagation of the container's "/" to ${propagation}`,
      origin: "linux.rootfsPropagation",
      op: mountOp("", Where.Host, "/", "", requested, ""),
    });
  }
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    afterSwitch.push({
      what: `set sysctl "${key}"`,
      origin: `linux.sysctl["${key}"]`,
      op: { op: "writeFile", path: join("/proc/sys", key.replaceAll(".", "/")), where: Where.InRoot, data: value },
    });
  }
  for (const [i, path] of (spec.linux?.readonlyPaths ?? []).entries()) {
    afterSwitch.push({ what: `make "${path}" read-only`, origin: `linux.readonlyPaths[${i}]`, op: { op: "readonly", path } });
  }
  for (const [i, path] of (spec.linux?.maskedPaths ?? []).entries()) {
    afterSwitch.push({ what: `mask "${path}"`, origin: `linux.maskedPaths[${i}]`, op: { op: "mask", path } });
  }
  afterSwitch.push(...build.readonlyLater);
  if (spec.root?.readonly) {
    afterSwitch.push({
      what: `remount "/" read-only`,
      origin: "root.readonly",
      op: mountOp("", Where.Host, "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, ""),
    });
  }
  return { beforeClone: build.beforeClone, beforeSwitch, switchRoot, afterSwitch };
}
