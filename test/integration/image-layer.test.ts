/**
 * Applying layer tarballs to real directories: what GNU tar writes (xattrs with a file capability,
 * ids beyond the octal fields, long names, hard links, devices, fifos) comes out as it went in;
 * whiteouts become overlayfs' 0/0 devices and opaque xattrs; and hostile tarballs (`..`,
 * absolute names, symlink-then-file, hard links out, symlink chains, xattrs or opaque markers
 * through links) are refused or confined, with nothing written outside the layer directory.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describeAsRoot } from "../fixtures/husk.ts";
import { apply, getXattr, makeTar, removeDir, run, setXattr, tempDir, tree } from "../fixtures/image.ts";

const CAP_NET_RAW_EP = "0100000200200000000000000000000000000000";

describeAsRoot("image layers from GNU tar", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir("layer");
  });
  afterEach(() => removeDir(dir));

  /** A source tree with everything a layer can carry, tarred by GNU tar with these options. */
  function gnuTar(format: "pax" | "gnu"): Buffer {
    const src = join(dir, "src");
    const long = `d/${"n".repeat(120)}/${"f".repeat(100)}`;
    mkdirSync(join(src, long, ".."), { recursive: true });
    writeFileSync(join(src, long), "long\n");
    writeFileSync(join(src, "d/ping"), "ping\n");
    run("chown", ["3000000:3000001", join(src, "d/ping")]);
    run("chmod", ["4755", join(src, "d/ping")]);
    // setcap's xattr, set after chown (which clears it)
    setXattr(join(src, "d/ping"), "security.capability", CAP_NET_RAW_EP);
    setXattr(join(src, "d/ping"), "user.bin", "00ff0a3d00");
    run("ln", [join(src, "d/ping"), join(src, "d/ping-link")]);
    symlinkSync("t".repeat(150), join(src, "d/longlink"));
    run("mknod", [join(src, "d/null"), "c", "1", "3"]);
    run("mknod", [join(src, "d/sda"), "b", "8", "0"]);
    run("mknod", [join(src, "d/fifo"), "p"]);
    run("chmod", ["0620", join(src, "d/fifo")]);
    run("find", [src, "-exec", "touch", "-h", "-d", "@1700000000", "{}", "+"]);
    const out = join(dir, `${format}.tar`);
    const xattrs = format === "pax" ? ["--xattrs", "--xattrs-include=*"] : [];
    run("tar", [`--format=${format}`, ...xattrs, "--numeric-owner", "-C", src, "-cf", out, "d"]);
    return readFileSync(out);
  }

  for (const format of ["pax", "gnu"] as const) {
    test(`--format=${format}: owners, modes, long names, hard links, devices, fifos, times`, async () => {
      const layer = join(dir, "layer");
      mkdirSync(layer);
      const r = await apply(gnuTar(format), layer);
      expect(r.size).toBe(5 + 5);
      const long = join(layer, `d/${"n".repeat(120)}/${"f".repeat(100)}`);
      expect(readFileSync(long, "utf8")).toBe("long\n");
      const ping = lstatSync(join(layer, "d/ping"));
      expect([ping.uid, ping.gid, ping.mode & 0o7777]).toEqual([3000000, 3000001, 0o4755]);
      expect(lstatSync(join(layer, "d/ping-link")).ino).toBe(ping.ino);
      expect(readlinkSync(join(layer, "d/longlink"))).toBe("t".repeat(150));
      const nul = lstatSync(join(layer, "d/null"));
      expect(nul.isCharacterDevice()).toBe(true);
      expect(nul.rdev).toBe(0x103);
      expect(lstatSync(join(layer, "d/sda")).isBlockDevice()).toBe(true);
      const fifo = lstatSync(join(layer, "d/fifo"));
      expect(fifo.isFIFO()).toBe(true);
      expect(fifo.mode & 0o7777).toBe(0o620);
      for (const p of ["d", "d/ping", "d/null", "d/fifo", "d/longlink"])
        expect(lstatSync(join(layer, p)).mtimeMs).toBe(1700000000000);
    });
  }

  test("--xattrs: security.capability (setcap) and binary user xattrs", async () => {
    const layer = join(dir, "layer");
    mkdirSync(layer);
    await apply(gnuTar("pax"), layer);
    expect(getXattr(join(layer, "d/ping"), "security.capability")).toBe(CAP_NET_RAW_EP);
    expect(getXattr(join(layer, "d/ping"), "user.bin")).toBe("00ff0a3d00");
    // set-id bits survive: the xattrs are set after chown, chmod after chown
    expect(statSync(join(layer, "d/ping")).mode & 0o7777).toBe(0o4755);
  });
});

describeAsRoot("whiteouts in overlayfs form", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir("whiteout");
  });
  afterEach(() => removeDir(dir));

  test(".wh.name becomes a 0/0 character device, .wh..wh..opq the opaque xattr", async () => {
    const warnings: string[] = [];
    await apply(
      makeTar([
        { path: "etc", type: "dir" },
        { path: "etc/.wh.passwd", type: "file", uid: 7, gid: 8 },
        { path: "var/cache/.wh..wh..opq", type: "file" },
        { path: "var/cache/new", type: "file", data: "n" },
        { path: ".wh..wh.plnk", type: "dir" },
        { path: "x", type: "file", xattrs: new Map([["trusted.overlay.redirect", Buffer.from("/etc")]]) },
      ]),
      dir,
      warnings,
    );
    const wh = lstatSync(join(dir, "etc/passwd"));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect([wh.uid, wh.gid]).toEqual([7, 8]);
    expect(existsSync(join(dir, "etc/.wh.passwd"))).toBe(false);
    expect(getXattr(join(dir, "var/cache"), "trusted.overlay.opaque")).toBe(Buffer.from("y").toString("hex"));
    expect(existsSync(join(dir, "var/cache/.wh..wh..opq"))).toBe(false);
    expect(readFileSync(join(dir, "var/cache/new"), "utf8")).toBe("n");
    expect(existsSync(join(dir, ".wh..wh.plnk"))).toBe(false);
    expect(getXattr(join(dir, "x"), "trusted.overlay.redirect")).toBeUndefined();
    expect(warnings).toEqual(['"x": ignoring overlayfs attribute trusted.overlay.redirect from the layer']);
  });

  test("later entries replace earlier ones, as tar does", async () => {
    await apply(
      makeTar([
        { path: "a", type: "file", data: "1" },
        { path: "a", type: "file", data: "2" },
        { path: "b", type: "dir" },
        { path: "b/c", type: "file", data: "c" },
        { path: "b", type: "file", data: "now a file" },
        { path: "f", type: "file", data: "f" },
        { path: "h", type: "link", linkname: "f" },
        { path: "h", type: "file", data: "h" },
        { path: "n", type: "fifo" },
        { path: "n", type: "file", data: "not a fifo" },
        { path: "w", type: "file", data: "w" },
        { path: ".wh.w", type: "file" },
      ]),
      dir,
    );
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("2");
    expect(readFileSync(join(dir, "b"), "utf8")).toBe("now a file");
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("f");
    expect(readFileSync(join(dir, "h"), "utf8")).toBe("h");
    expect(readFileSync(join(dir, "n"), "utf8")).toBe("not a fifo");
    expect(lstatSync(join(dir, "w")).isCharacterDevice()).toBe(true);
  });

  test("a hard link to a device made in the same layer", async () => {
    await apply(
      makeTar([
        { path: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
        { path: "dev/null2", type: "link", linkname: "dev/null" },
      ]),
      dir,
    );
    expect(lstatSync(join(dir, "dev/null2")).ino).toBe(lstatSync(join(dir, "dev/null")).ino);
    expect(lstatSync(join(dir, "dev/null")).mode & 0o7777).toBe(0o666);
  });
});

describeAsRoot("hostile layer tarballs", () => {
  let top: string;
  let layer: string;
  let outside: string;
  let before: string[];
  let passwd: Stats;

  beforeEach(() => {
    top = tempDir("hostile");
    layer = join(top, "layer");
    outside = join(top, "outside");
    mkdirSync(layer);
    mkdirSync(outside);
    writeFileSync(join(outside, "secret"), "secret\n");
    utimesSync(join(outside, "secret"), 1, 1);
    before = tree(outside);
    passwd = statSync("/etc/passwd");
  });

  afterEach(() => {
    // Nothing outside the layer changed, whatever the tarball tried.
    expect(tree(outside)).toEqual(before);
    expect(getXattr(join(outside, "secret"), "trusted.pwn")).toBeUndefined();
    expect(getXattr(outside, "trusted.overlay.opaque")).toBeUndefined();
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("secret\n");
    const now = statSync("/etc/passwd");
    expect([now.nlink, now.mtimeMs, now.ino]).toEqual([passwd.nlink, passwd.mtimeMs, passwd.ino]);
    expect(existsSync("/pwned")).toBe(false);
    removeDir(top);
  });

  const refused = async (spec: Parameters<typeof makeTar>[0], message: RegExp) => {
    await expect(apply(makeTar(spec), layer)).rejects.toThrow(message);
  };

  test("../ entries are refused", async () => {
    await refused([{ path: "../outside/pwned", type: "file", data: "x" }], /a "\.\." component would leave the layer/);
    await refused([{ path: "a/../../outside/pwned", type: "file", data: "x" }], /"\.\." component/);
    await refused([{ path: "../outside", type: "dir", mode: 0o777 }], /"\.\." component/);
  });

  test("absolute names are confined to the layer", async () => {
    await apply(
      makeTar([
        { path: "/pwned", type: "file", data: "x" },
        { path: `${outside}/pwned`, type: "file", data: "x" },
      ]),
      layer,
    );
    expect(readFileSync(join(layer, "pwned"), "utf8")).toBe("x");
    expect(readFileSync(join(layer, outside, "pwned"), "utf8")).toBe("x");
    await refused([{ path: "/../outside/pwned", type: "file", data: "x" }], /"\.\." component/);
  });

  test("symlink then a file through it: refused (relative, absolute, to a dir outside)", async () => {
    await refused(
      [
        { path: "a", type: "symlink", linkname: "../outside" },
        { path: "a/pwned", type: "file", data: "x" },
      ],
      /tar entry "a\/pwned": its parent "a" is a symbolic link: refusing to write through it/,
    );
    await refused(
      [
        { path: "etc", type: "symlink", linkname: "/etc" },
        { path: "etc/passwd", type: "file", data: "root::0:0::/:/bin/sh\n" },
      ],
      /its parent "etc" is a symbolic link/,
    );
    await refused(
      [
        { path: "b", type: "symlink", linkname: outside },
        { path: "b/x/y", type: "dir" },
      ],
      /its parent "b" is a symbolic link/,
    );
  });

  test("a symlink chain is not followed either", async () => {
    await refused(
      [
        { path: "c1", type: "symlink", linkname: "c2" },
        { path: "c2", type: "symlink", linkname: "c3" },
        { path: "c3", type: "symlink", linkname: "../outside" },
        { path: "c1/pwned", type: "file", data: "x" },
      ],
      /its parent "c1" is a symbolic link/,
    );
    await refused(
      [
        { path: "d", type: "dir" },
        { path: "d/up", type: "symlink", linkname: "../.." },
        { path: "d/up/outside/pwned", type: "file", data: "x" },
      ],
      /its parent "d\/up" is a symbolic link/,
    );
  });

  test("hard links out of the layer are refused", async () => {
    await refused([{ path: "h", type: "link", linkname: "../outside/secret" }], /"\.\." component/);
    await refused([{ path: "h", type: "link", linkname: "/etc/passwd" }], /hard link target "\/etc\/passwd" is not in the layer/);
    await refused(
      [
        { path: "l", type: "symlink", linkname: "../outside" },
        { path: "h", type: "link", linkname: "l/secret" },
      ],
      /its parent "l" is a symbolic link/,
    );
    // A hard link to a symlink links the symlink itself, not what it points at.
    await apply(
      makeTar([
        { path: "s", type: "symlink", linkname: "../outside/secret" },
        { path: "h2", type: "link", linkname: "s" },
      ]),
      layer,
    );
    expect(lstatSync(join(layer, "h2")).isSymbolicLink()).toBe(true);
  });

  test("entries over a symlink replace the link instead of writing through it", async () => {
    await apply(
      makeTar([
        { path: "f", type: "symlink", linkname: "../outside/secret" },
        { path: "f", type: "file", data: "mine", mode: 0o777 },
        { path: "d", type: "symlink", linkname: "../outside" },
        { path: "d", type: "dir", mode: 0o777 },
        { path: "d/inside", type: "file", data: "in" },
        { path: "n", type: "symlink", linkname: "../outside/secret" },
        { path: "n", type: "fifo" },
      ]),
      layer,
    );
    expect(readFileSync(join(layer, "f"), "utf8")).toBe("mine");
    expect(lstatSync(join(layer, "d")).isDirectory()).toBe(true);
    expect(readFileSync(join(layer, "d/inside"), "utf8")).toBe("in");
    expect(lstatSync(join(layer, "n")).isFIFO()).toBe(true);
  });

  test("whiteouts, opaque markers and xattrs through a symlink stay inside", async () => {
    await refused(
      [
        { path: "w", type: "symlink", linkname: "../outside" },
        { path: "w/.wh.secret", type: "file" },
      ],
      /its parent "w" is a symbolic link/,
    );
    // The opaque marker's directory replaces the link; the xattr lands on the layer's directory.
    await apply(
      makeTar([
        { path: "o", type: "symlink", linkname: "../outside" },
        { path: "o/.wh..wh..opq", type: "file" },
      ]),
      layer,
    );
    expect(lstatSync(join(layer, "o")).isDirectory()).toBe(true);
    expect(getXattr(join(layer, "o"), "trusted.overlay.opaque")).toBe("79");
    // An xattr on a symlink entry is set on the link, not on what it points at.
    await apply(
      makeTar([
        { path: "x", type: "symlink", linkname: "../outside/secret", xattrs: new Map([["trusted.pwn", Buffer.from("1")]]) },
      ]),
      layer,
    );
    expect(getXattr(join(layer, "x"), "trusted.pwn")).toBe("31");
  });

  test("a device or fifo cannot be made outside", async () => {
    await refused([{ path: "../outside/null", type: "char", devmajor: 1, devminor: 3 }], /"\.\." component/);
    await refused(
      [
        { path: "p", type: "symlink", linkname: "../outside" },
        { path: "p/fifo", type: "fifo" },
      ],
      /its parent "p" is a symbolic link/,
    );
  });

  test("a layer root that is not a directory, and an entry under a file, are refused", async () => {
    await refused([{ path: "./", type: "symlink", linkname: "/" }], /the layer's root can only be a directory/);
    await refused(
      [
        { path: "f", type: "file", data: "x" },
        { path: "f/g", type: "file", data: "y" },
      ],
      /its parent "f" is not a directory/,
    );
  });
});
