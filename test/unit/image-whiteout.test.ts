/**
 * What a layer's tar entries become, before anything touches the disk: confined paths, AUFS
 * whiteouts turned into overlayfs form (a 0/0 character device, the opaque xattr), and the
 * helper ops for devices and xattrs.
 */
import { describe, expect, test } from "bun:test";
import {
  classifyEntry,
  entryPath,
  makedev,
  nodeOps,
  OPAQUE_XATTR,
  opaqueOps,
  whiteoutOps,
  xattrOps,
} from "../../src/image/layer-entry.ts";

describe("entry paths stay in the layer", () => {
  const ok: [string, string][] = [
    ["a/b", "a/b"],
    ["./a//b/", "a/b"],
    ["/etc/passwd", "etc/passwd"],
    ["///x", "x"],
    ["./", ""],
    [".", ""],
    ["a/./b", "a/b"],
    ["..a/b..", "..a/b.."],
  ];
  for (const [name, want] of ok)
    test(`${JSON.stringify(name)} → ${JSON.stringify(want)}`, () => expect(entryPath(name)).toBe(want));

  for (const name of ["..", "../x", "a/../../x", "a/..", "/../etc/passwd", "./a/b/../c"]) {
    test(`${JSON.stringify(name)} is refused`, () => {
      expect(() => entryPath(name)).toThrow(`tar entry ${JSON.stringify(name)}: a ".." component would leave the layer`);
    });
  }
});

describe("whiteouts in overlayfs form", () => {
  test("ordinary entries", () => {
    expect(classifyEntry("usr/bin/x")).toEqual({ kind: "entry", path: "usr/bin/x" });
    expect(classifyEntry("a/x.wh.b")).toEqual({ kind: "entry", path: "a/x.wh.b" });
  });
  test(".wh.name hides name", () => {
    expect(classifyEntry("etc/.wh.passwd")).toEqual({ kind: "whiteout", path: "etc/passwd" });
    expect(classifyEntry("./.wh.tmp")).toEqual({ kind: "whiteout", path: "tmp" });
    expect(classifyEntry("a/.wh..hidden")).toEqual({ kind: "whiteout", path: "a/.hidden" });
  });
  test(".wh..wh..opq makes the directory opaque", () => {
    expect(classifyEntry("var/cache/.wh..wh..opq")).toEqual({ kind: "opaque", dir: "var/cache" });
    expect(classifyEntry(".wh..wh..opq")).toEqual({ kind: "opaque", dir: "" });
  });
  test("AUFS's own metadata is skipped", () => {
    expect(classifyEntry(".wh..wh.plnk/1.2")).toMatchObject({ kind: "entry" }); // a directory under it: ordinary
    expect(classifyEntry(".wh..wh.plnk")).toMatchObject({ kind: "skip" });
    expect(classifyEntry("a/.wh..wh.aufs")).toMatchObject({ kind: "skip" });
  });
  test("whiteouts of nothing or of .. are refused", () => {
    expect(() => classifyEntry("a/.wh.")).toThrow(/whiteout of no name/);
    expect(() => classifyEntry("a/.wh...")).toThrow(/whiteout of no name/);
    expect(() => classifyEntry("../.wh.x")).toThrow(/would leave the layer/);
  });
  test("a whiteout is a 0/0 character device without permissions, owned as the entry", () => {
    expect(whiteoutOps("etc/passwd", 5, 6)).toEqual([
      { op: "mknod", path: "/etc/passwd", mode: 0o020000, dev: 0 },
      { op: "chown", path: "/etc/passwd", uid: 5, gid: 6 },
    ]);
  });
  test("an opaque directory gets trusted.overlay.opaque=y", () => {
    expect(opaqueOps("var/cache")).toEqual([{ op: "setxattr", path: "/var/cache", name: OPAQUE_XATTR, value: Buffer.from("y") }]);
    expect(opaqueOps("")[0]).toMatchObject({ path: "/" });
  });
});

describe("devices, fifos, xattrs", () => {
  test("makedev is glibc's", () => {
    expect(makedev(1, 3)).toBe(0x103);
    expect(makedev(8, 0x12345)).toBe(0x12300845);
    expect(makedev(4095, 1048575)).toBe(0xffffffff);
    expect(() => makedev(4096, 0)).toThrow(/out of range/);
  });
  test("mknod carries the file type and all mode bits; chown follows", () => {
    const h = { uid: 0, gid: 5, mode: 0o666, devmajor: 1, devminor: 3 };
    expect(nodeOps("dev/null", { ...h, type: "char" })).toEqual([
      { op: "mknod", path: "/dev/null", mode: 0o020666, dev: 0x103 },
      { op: "chown", path: "/dev/null", uid: 0, gid: 5 },
    ]);
    expect(nodeOps("sda", { ...h, type: "block", devmajor: 8, devminor: 0 })[0]).toMatchObject({ mode: 0o060666, dev: 0x800 });
    expect(nodeOps("p", { ...h, type: "fifo", mode: 0o1620 })[0]).toMatchObject({ mode: 0o011620, dev: 0 });
  });
  test("xattrs pass through, overlayfs' own are dropped with a warning", () => {
    const warnings: string[] = [];
    const cap = new Uint8Array([1, 0, 0, 2]);
    const ops = xattrOps(
      "bin/ping",
      new Map([
        ["security.capability", cap],
        ["trusted.overlay.redirect", new Uint8Array([0x2f])],
        ["user.overlay.opaque", new Uint8Array([0x79])],
        ["user.x", new Uint8Array()],
      ]),
      (m) => warnings.push(m),
    );
    expect(ops).toEqual([
      { op: "setxattr", path: "/bin/ping", name: "security.capability", value: cap },
      { op: "setxattr", path: "/bin/ping", name: "user.x", value: new Uint8Array() },
    ]);
    expect(warnings).toEqual([
      '"bin/ping": ignoring overlayfs attribute trusted.overlay.redirect from the layer',
      '"bin/ping": ignoring overlayfs attribute user.overlay.opaque from the layer',
    ]);
  });
});
