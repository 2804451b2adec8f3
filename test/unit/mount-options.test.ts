import { describe, expect, test } from "bun:test";
import {
  KNOWN_MOUNT_OPTIONS,
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NODIRATIME,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_STRICTATIME,
  MS_BIND,
  MS_DIRSYNC,
  MS_I_VERSION,
  MS_LAZYTIME,
  MS_MANDLOCK,
  MS_MOVE,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_NOSYMFOLLOW,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_RELATIME,
  MS_REMOUNT,
  MS_SHARED,
  MS_SILENT,
  MS_SLAVE,
  MS_STRICTATIME,
  MS_SYNCHRONOUS,
  MS_UNBINDABLE,
  PROPAGATION_NAMES,
  parseMountOptions,
  propagationFlags,
} from "../../src/oci/mount-options.ts";

describe("constants", () => {
  test("MS_* match linux/mount.h", () => {
    expect([MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC]).toEqual([
      1, 2, 4, 8, 16, 32, 64, 128,
    ]);
    expect([MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC, MS_SILENT]).toEqual([
      256, 1024, 2048, 4096, 8192, 16384, 32768,
    ]);
    expect([MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME]).toEqual([
      0x20000, 0x40000, 0x80000, 0x100000, 0x200000,
    ]);
    expect([MS_I_VERSION, MS_STRICTATIME, MS_LAZYTIME]).toEqual([0x800000, 0x1000000, 0x2000000]);
  });

  test("MOUNT_ATTR_* match linux/mount.h", () => {
    expect([MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC]).toEqual([1, 2, 4, 8]);
    expect([MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME]).toEqual([
      0x70, 0x10, 0x20, 0x80,
    ]);
    expect(MOUNT_ATTR_NOSYMFOLLOW).toBe(0x200000);
  });
});

describe("parseMountOptions", () => {
  test("no options", () => {
    expect(parseMountOptions([])).toEqual({
      flags: 0,
      clearFlags: 0,
      propagation: [],
      data: [],
      bind: false,
      recursiveBind: false,
    });
  });

  test("runc's /dev tmpfs: flags and filesystem data apart, data in order", () => {
    const o = parseMountOptions(["nosuid", "strictatime", "mode=755", "size=65536k"]);
    expect(o.flags).toBe(MS_NOSUID | MS_STRICTATIME);
    expect(o.data).toEqual(["mode=755", "size=65536k"]);
    expect(o.bind).toBe(false);
  });

  test("runc's devpts: newinstance, ptmxmode, mode and gid are data", () => {
    const o = parseMountOptions(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC);
    expect(o.data).toEqual(["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
  });

  test("runc's cgroup mount", () => {
    const o = parseMountOptions(["nosuid", "noexec", "nodev", "relatime", "ro"]);
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
    expect(o.data).toEqual([]);
  });

  test("the later of a set/clear pair wins, and a clear is remembered", () => {
    expect(parseMountOptions(["ro", "rw"])).toMatchObject({ flags: 0, clearFlags: MS_RDONLY });
    expect(parseMountOptions(["rw", "ro"])).toMatchObject({ flags: MS_RDONLY, clearFlags: 0 });
    expect(parseMountOptions(["nosuid", "suid", "nodev"])).toMatchObject({ flags: MS_NODEV, clearFlags: MS_NOSUID });
  });

  test("every set/clear pair maps to its flag", () => {
    const pairs: [string, string, number][] = [
      ["ro", "rw", MS_RDONLY],
      ["nosuid", "suid", MS_NOSUID],
      ["nodev", "dev", MS_NODEV],
      ["noexec", "exec", MS_NOEXEC],
      ["sync", "async", MS_SYNCHRONOUS],
      ["mand", "nomand", MS_MANDLOCK],
      ["noatime", "atime", MS_NOATIME],
      ["nodiratime", "diratime", MS_NODIRATIME],
      ["relatime", "norelatime", MS_RELATIME],
      ["strictatime", "nostrictatime", MS_STRICTATIME],
      ["lazytime", "nolazytime", MS_LAZYTIME],
      ["nosymfollow", "symfollow", MS_NOSYMFOLLOW],
      ["iversion", "noiversion", MS_I_VERSION],
      ["silent", "loud", MS_SILENT],
    ];
    for (const [set, clear, flag] of pairs) {
      expect(parseMountOptions([set])).toMatchObject({ flags: flag, clearFlags: 0, data: [] });
      expect(parseMountOptions([clear])).toMatchObject({ flags: 0, clearFlags: flag, data: [] });
    }
    expect(parseMountOptions(["dirsync"]).flags).toBe(MS_DIRSYNC);
    expect(parseMountOptions(["remount"]).flags).toBe(MS_REMOUNT);
  });

  test("bind and rbind", () => {
    expect(parseMountOptions(["bind"])).toMatchObject({ flags: MS_BIND, bind: true, recursiveBind: false });
    expect(parseMountOptions(["rbind", "ro"])).toMatchObject({
      flags: MS_BIND | MS_REC | MS_RDONLY,
      bind: true,
      recursiveBind: true,
    });
  });

  test("propagation options are kept in order as separate flag sets", () => {
    const o = parseMountOptions([
      "rbind",
      "rprivate",
      "shared",
      "rslave",
      "slave",
      "unbindable",
      "runbindable",
      "private",
      "rshared",
    ]);
    expect(o.propagation).toEqual([
      MS_PRIVATE | MS_REC,
      MS_SHARED,
      MS_SLAVE | MS_REC,
      MS_SLAVE,
      MS_UNBINDABLE,
      MS_UNBINDABLE | MS_REC,
      MS_PRIVATE,
      MS_SHARED | MS_REC,
    ]);
    // They are not mount(2) flags of the mount itself.
    expect(o.flags).toBe(MS_BIND | MS_REC);
  });

  test("recursive attributes go to mount_setattr, not to flags", () => {
    const o = parseMountOptions(["rbind", "rro", "rnosuid", "rnodev", "rnoexec"]);
    expect(o.flags).toBe(MS_BIND | MS_REC);
    expect(o.recursiveAttr).toEqual({
      attrSet: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
      attrClr: 0,
    });
    expect(parseMountOptions(["rro", "rrw"]).recursiveAttr).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR_RDONLY });
    expect(parseMountOptions(["rsuid", "rdev", "rexec"]).recursiveAttr).toEqual({
      attrSet: 0,
      attrClr: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    });
    expect(parseMountOptions(["rnodiratime"]).recursiveAttr).toEqual({ attrSet: MOUNT_ATTR_NODIRATIME, attrClr: 0 });
    expect(parseMountOptions(["rnosymfollow"]).recursiveAttr).toEqual({ attrSet: MOUNT_ATTR_NOSYMFOLLOW, attrClr: 0 });
    expect(parseMountOptions(["rsymfollow"]).recursiveAttr).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR_NOSYMFOLLOW });
    expect(parseMountOptions(["ro"]).recursiveAttr).toBeUndefined();
  });

  test("recursive atime options set the atime field, clearing it first", () => {
    expect(parseMountOptions(["rnoatime"]).recursiveAttr).toEqual({ attrSet: MOUNT_ATTR_NOATIME, attrClr: MOUNT_ATTR__ATIME });
    expect(parseMountOptions(["rstrictatime"]).recursiveAttr).toEqual({
      attrSet: MOUNT_ATTR_STRICTATIME,
      attrClr: MOUNT_ATTR__ATIME,
    });
    expect(parseMountOptions(["rrelatime"]).recursiveAttr).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR__ATIME });
    // A later atime option replaces an earlier one (NOATIME|STRICTATIME together is EINVAL).
    expect(parseMountOptions(["rnoatime", "rstrictatime"]).recursiveAttr).toEqual({
      attrSet: MOUNT_ATTR_STRICTATIME,
      attrClr: MOUNT_ATTR__ATIME,
    });
    expect(parseMountOptions(["rnoatime", "ratime"]).recursiveAttr).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR__ATIME });
  });

  test("idmap, ridmap and tmpcopyup are recorded, not passed on", () => {
    expect(parseMountOptions(["bind", "idmap"])).toMatchObject({ idmap: true, idmapRecursive: false, data: [] });
    expect(parseMountOptions(["rbind", "ridmap"])).toMatchObject({ idmap: true, idmapRecursive: true, data: [] });
    expect(parseMountOptions(["bind"]).idmap).toBeUndefined();
    expect(parseMountOptions(["tmpcopyup", "mode=755"])).toMatchObject({ tmpcopyup: true, data: ["mode=755"] });
  });

  test("defaults means nothing", () => {
    expect(parseMountOptions(["defaults"])).toEqual(parseMountOptions([]));
    expect(parseMountOptions(["bind", "defaults"]).data).toEqual([]);
  });

  test("unknown options are filesystem data, verbatim and in order", () => {
    const o = parseMountOptions(["size=1m", "nosuid", "lowerdir=/a:/b", "X", 'context="system_u:object_r"']);
    expect(o.data).toEqual(["size=1m", "lowerdir=/a:/b", "X", 'context="system_u:object_r"']);
    expect(o.flags).toBe(MS_NOSUID);
    // Option names are matched exactly, and never against Object.prototype.
    expect(parseMountOptions(["RO", "constructor", "toString", "__proto__"]).data).toEqual([
      "RO",
      "constructor",
      "toString",
      "__proto__",
    ]);
  });
});

describe("propagationFlags", () => {
  test("maps each rootfsPropagation value", () => {
    expect(propagationFlags("private")).toBe(MS_PRIVATE);
    expect(propagationFlags("rprivate")).toBe(MS_PRIVATE | MS_REC);
    expect(propagationFlags("slave")).toBe(MS_SLAVE);
    expect(propagationFlags("rslave")).toBe(0x84000);
    expect(propagationFlags("shared")).toBe(MS_SHARED);
    expect(propagationFlags("rshared")).toBe(MS_SHARED | MS_REC);
    expect(propagationFlags("unbindable")).toBe(MS_UNBINDABLE);
    expect(propagationFlags("runbindable")).toBe(MS_UNBINDABLE | MS_REC);
  });

  test("anything else is undefined", () => {
    expect(propagationFlags("")).toBeUndefined();
    expect(propagationFlags("ro")).toBeUndefined();
    expect(propagationFlags("RPRIVATE")).toBeUndefined();
    expect(PROPAGATION_NAMES).toEqual([
      "private",
      "rprivate",
      "shared",
      "rshared",
      "slave",
      "rslave",
      "unbindable",
      "runbindable",
    ]);
  });
});

test("KNOWN_MOUNT_OPTIONS lists every recognised option once, sorted", () => {
  expect(KNOWN_MOUNT_OPTIONS.length).toBe(new Set(KNOWN_MOUNT_OPTIONS).size);
  expect([...KNOWN_MOUNT_OPTIONS]).toEqual([...KNOWN_MOUNT_OPTIONS].sort());
  for (const o of ["defaults", "ro", "rbind", "rprivate", "rro", "rnosymfollow", "idmap", "ridmap", "tmpcopyup", "nosymfollow"]) {
    expect(KNOWN_MOUNT_OPTIONS).toContain(o);
  }
  // 32 flag options + 8 propagation + 18 recursive + defaults, idmap, ridmap, tmpcopyup.
  expect(KNOWN_MOUNT_OPTIONS.length).toBe(62);
  // None of them is filesystem data.
  for (const o of KNOWN_MOUNT_OPTIONS) expect(parseMountOptions([o]).data).toEqual([]);
});
