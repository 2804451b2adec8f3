/**
 * Mount options as the spec writes them ("nosuid", "rbind", "rro", "mode=755") → what the
 * mount syscalls take. The vocabulary is runc's, so bundles written for runc mean the same:
 *   - mount(2) flags, each either set or cleared; later options override earlier ones;
 *   - propagation options, applied by separate mount(2) calls after the mount itself;
 *   - recursive attributes ("rro", "rnosuid" …) for mount_setattr(2) with AT_RECURSIVE,
 *     since mount(2) cannot change flags on submounts of a recursive bind;
 *   - idmap/ridmap and the tmpcopyup extension, recorded for the caller;
 *   - anything else is filesystem data ("mode=755", "size=65536k", "newinstance") passed as
 *     mount(2)'s data argument, comma-joined.
 */
import type { RootfsPropagation } from "./types.ts";

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

/** mount_setattr(2) attribute bits (linux/mount.h). */
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** The atime field: RELATIME (0), NOATIME or STRICTATIME; setting one needs the field cleared. */
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

/** [flag, clear?]: "rw" clears MS_RDONLY that an earlier "ro" (or the default) set. */
const FLAG_OPTIONS = new Map<string, readonly [number, boolean]>(
  Object.entries({
    ro: [MS_RDONLY, false],
    rw: [MS_RDONLY, true],
    nosuid: [MS_NOSUID, false],
    suid: [MS_NOSUID, true],
    nodev: [MS_NODEV, false],
    dev: [MS_NODEV, true],
    noexec: [MS_NOEXEC, false],
    exec: [MS_NOEXEC, true],
    sync: [MS_SYNCHRONOUS, false],
    async: [MS_SYNCHRONOUS, true],
    dirsync: [MS_DIRSYNC, false],
    remount: [MS_REMOUNT, false],
    mand: [MS_MANDLOCK, false],
    nomand: [MS_MANDLOCK, true],
    noatime: [MS_NOATIME, false],
    atime: [MS_NOATIME, true],
    nodiratime: [MS_NODIRATIME, false],
    diratime: [MS_NODIRATIME, true],
    relatime: [MS_RELATIME, false],
    norelatime: [MS_RELATIME, true],
    strictatime: [MS_STRICTATIME, false],
    nostrictatime: [MS_STRICTATIME, true],
    lazytime: [MS_LAZYTIME, false],
    nolazytime: [MS_LAZYTIME, true],
    nosymfollow: [MS_NOSYMFOLLOW, false],
    symfollow: [MS_NOSYMFOLLOW, true],
    iversion: [MS_I_VERSION, false],
    noiversion: [MS_I_VERSION, true],
    silent: [MS_SILENT, false],
    loud: [MS_SILENT, true],
    bind: [MS_BIND, false],
    rbind: [MS_BIND | MS_REC, false],
  } as Record<string, readonly [number, boolean]>),
);

const PROPAGATION_OPTIONS = new Map<string, number>(
  Object.entries({
    private: MS_PRIVATE,
    rprivate: MS_PRIVATE | MS_REC,
    shared: MS_SHARED,
    rshared: MS_SHARED | MS_REC,
    slave: MS_SLAVE,
    rslave: MS_SLAVE | MS_REC,
    unbindable: MS_UNBINDABLE,
    runbindable: MS_UNBINDABLE | MS_REC,
  }),
);

const RECURSIVE_OPTIONS = new Map<string, readonly [number, boolean]>(
  Object.entries({
    rro: [MOUNT_ATTR_RDONLY, false],
    rrw: [MOUNT_ATTR_RDONLY, true],
    rnosuid: [MOUNT_ATTR_NOSUID, false],
    rsuid: [MOUNT_ATTR_NOSUID, true],
    rnodev: [MOUNT_ATTR_NODEV, false],
    rdev: [MOUNT_ATTR_NODEV, true],
    rnoexec: [MOUNT_ATTR_NOEXEC, false],
    rexec: [MOUNT_ATTR_NOEXEC, true],
    rnodiratime: [MOUNT_ATTR_NODIRATIME, false],
    rdiratime: [MOUNT_ATTR_NODIRATIME, true],
    rrelatime: [MOUNT_ATTR_RELATIME, false],
    rnorelatime: [MOUNT_ATTR_RELATIME, true],
    rnoatime: [MOUNT_ATTR_NOATIME, false],
    ratime: [MOUNT_ATTR_NOATIME, true],
    rstrictatime: [MOUNT_ATTR_STRICTATIME, false],
    rnostrictatime: [MOUNT_ATTR_STRICTATIME, true],
    rnosymfollow: [MOUNT_ATTR_NOSYMFOLLOW, false],
    rsymfollow: [MOUNT_ATTR_NOSYMFOLLOW, true],
  } as Record<string, readonly [number, boolean]>),
);

const ATIME_ATTRS = new Set([MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME]);

export interface RecursiveAttr {
  /** mount_attr.attr_set */
  attrSet: number;
  /** mount_attr.attr_clr */
  attrClr: number;
}

export interface MountOptions {
  /** mount(2) flags to set (includes MS_BIND / MS_REC for bind and rbind). */
  flags: number;
  /** Flags the options explicitly cleared ("rw", "suid", …): a bind remount must not keep them. */
  clearFlags: number;
  /** One mount(2) call each, in order, after the mount: MS_PRIVATE|MS_REC for "rprivate", … */
  propagation: number[];
  /** Filesystem-specific options, in order; comma-join them for mount(2)'s data. */
  data: string[];
  /** Recursive attributes for mount_setattr(2) with AT_RECURSIVE, if any "r*" attribute option was given. */
  recursiveAttr?: RecursiveAttr;
  /** "idmap" or "ridmap": make it an id-mapped mount (MOUNT_ATTR_IDMAP). */
  idmap?: boolean;
  /** "ridmap": id-map the submounts of a recursive bind too. */
  idmapRecursive?: boolean;
  /** "tmpcopyup": copy what the rootfs had under the destination into the new tmpfs. */
  tmpcopyup?: boolean;
  bind: boolean;
  recursiveBind: boolean;
}

/** Every option name parseMountOptions understands (for `husk features`), sorted. */
export const KNOWN_MOUNT_OPTIONS: readonly string[] = [
  "defaults",
  ...FLAG_OPTIONS.keys(),
  ...PROPAGATION_OPTIONS.keys(),
  ...RECURSIVE_OPTIONS.keys(),
  "idmap",
  "ridmap",
  "tmpcopyup",
].sort();

export function parseMountOptions(options: readonly string[]): MountOptions {
  let flags = 0;
  let clearFlags = 0;
  let attrSet = 0;
  let attrClr = 0;
  let anyRecursive = false;
  const propagation: number[] = [];
  const data: string[] = [];
  const result: MountOptions = { flags: 0, clearFlags: 0, propagation, data, bind: false, recursiveBind: false };

  for (const option of options) {
    const flag = FLAG_OPTIONS.get(option);
    const prop = PROPAGATION_OPTIONS.get(option);
    const attr = RECURSIVE_OPTIONS.get(option);
    if (flag) {
      const [bit, clear] = flag;
      if (clear) {
        flags &= ~bit;
        clearFlags |= bit;
      } else {
        flags |= bit;
        clearFlags &= ~bit;
      }
    } else if (prop !== undefined) {
      propagation.push(prop);
    } else if (attr) {
      const [bit, clear] = attr;
      anyRecursive = true;
      if (ATIME_ATTRS.has(bit)) {
        // mount_setattr(2): the atime mode is a field, not a bit. Changing it needs
        // MOUNT_ATTR__ATIME in attr_clr, and a later atime option replaces an earlier one
        // (setting NOATIME|STRICTATIME together is EINVAL). Clearing a mode means relatime.
        attrSet &= ~MOUNT_ATTR__ATIME;
        attrClr |= MOUNT_ATTR__ATIME;
        if (!clear) attrSet |= bit;
      } else if (clear) {
        attrClr |= bit;
        attrSet &= ~bit;
      } else {
        attrSet |= bit;
        attrClr &= ~bit;
      }
    } else if (option === "idmap" || option === "ridmap") {
      result.idmap = true;
      result.idmapRecursive = option === "ridmap";
    } else if (option === "tmpcopyup") {
      result.tmpcopyup = true;
    } else if (option === "defaults") {
      // fstab's placeholder for "no options". runc passes it on as data, which filesystems
      // that check their options (tmpfs, devpts) reject; mount(8) drops it, and so do we.
    } else {
      data.push(option);
    }
  }

  result.flags = flags;
  result.clearFlags = clearFlags;
  result.bind = (flags & MS_BIND) !== 0;
  result.recursiveBind = result.bind && (flags & MS_REC) !== 0;
  if (anyRecursive) result.recursiveAttr = { attrSet, attrClr };
  return result;
}

/**
 * mount(2) flags for a `linux.rootfsPropagation` value (or a propagation mount option),
 * or undefined if the name is not a propagation mode.
 */
export function propagationFlags(name: RootfsPropagation): number;
export function propagationFlags(name: string): number | undefined;
export function propagationFlags(name: string): number | undefined {
  return PROPAGATION_OPTIONS.get(name);
}

export const PROPAGATION_NAMES: readonly string[] = [...PROPAGATION_OPTIONS.keys()];
