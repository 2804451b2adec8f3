/**
 * The tar reader against archives GNU tar 1.34 wrote (fixtures/image/make-tars.sh: PAX with
 * binary xattrs and security.capability, GNU long names and base-256 ids, hard links, devices,
 * fifos), the header functions on hand-made blocks, and the writer read back.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHeaderBlock, parseNumeric, parsePaxRecords, readTar, type TarEntry } from "../../src/image/tar.ts";
import { TAR_END, tarHeader, tarPadding } from "../../src/image/tar-writer.ts";

const FIXTURES = join(import.meta.dir, "fixtures/image");
const LONG_DIR = `d/${"n".repeat(120)}`;
const LONG_FILE = `${LONG_DIR}/file-with-a-long-name`;
const CAP_NET_RAW_EP = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

type Read = Omit<TarEntry, "body"> & { data: string };

async function readAll(data: Uint8Array, chunk = 7): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(chunked(data, chunk))) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(Buffer.from(c));
    const { body: _, ...rest } = e;
    out.push({ ...rest, data: Buffer.concat(parts).toString() });
  }
  return out;
}

function byPath(entries: Read[]): Map<string, Read> {
  return new Map(entries.map((e) => [e.path.replace(/\/$/, ""), e]));
}

for (const [file, format] of [
  ["pax-xattrs.tar", "pax"],
  ["gnu-long.tar", "gnu"],
] as const) {
  describe(`GNU tar --format=${format}`, () => {
    const data = readFileSync(join(FIXTURES, file));

    test("names, types, long names and long link targets", async () => {
      const entries = byPath(await readAll(data));
      expect([...entries.keys()]).toEqual([
        "d",
        "d/fifo",
        "d/longlink",
        LONG_DIR,
        LONG_FILE,
        "d/null",
        "d/ping",
        "d/ping-hardlink",
      ]);
      expect(entries.get("d")!.type).toBe("dir");
      expect(entries.get("d/fifo")!.type).toBe("fifo");
      expect(entries.get("d/longlink")).toMatchObject({ type: "symlink", linkname: "t".repeat(150) });
      expect(entries.get(LONG_FILE)).toMatchObject({ type: "file", size: 6, data: "hello\n", mode: 0o644 });
      expect(entries.get("d/ping-hardlink")).toMatchObject({ type: "link", linkname: "d/ping", size: 0 });
    });

    test("uid/gid beyond the octal fields, devices, mtime", async () => {
      const entries = byPath(await readAll(data));
      expect(entries.get(LONG_FILE)).toMatchObject({ uid: 3000000, gid: 3000001 });
      expect(entries.get("d/ping")).toMatchObject({ uid: 3000000, gid: 3000001, data: "cap\n" });
      expect(entries.get("d/null")).toMatchObject({ type: "char", devmajor: 1, devminor: 3 });
      for (const e of entries.values()) expect(Math.floor(e.mtime)).toBe(1700000000);
    });

    test("any chunking of the stream reads the same", async () => {
      const a = await readAll(data, 1);
      const b = await readAll(data, 65536);
      expect(a).toEqual(b);
    });
  });
}

test("PAX xattrs keep binary values (security.capability, bytes that are not UTF-8)", async () => {
  const entries = byPath(await readAll(readFileSync(join(FIXTURES, "pax-xattrs.tar"))));
  const x = entries.get("d/ping")!.xattrs;
  expect(x.get("security.capability")).toEqual(CAP_NET_RAW_EP);
  expect(x.get("user.bin")).toEqual(Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x00]));
  expect(entries.get("d/ping-hardlink")!.xattrs.size).toBe(0);
});

test("offsets point at each file's data in the stream", async () => {
  const data = readFileSync(join(FIXTURES, "pax-xattrs.tar"));
  for (const e of await readAll(data)) {
    if (e.type === "file") expect(data.subarray(e.offset, e.offset + e.size).toString()).toBe(e.data);
  }
});

describe("numeric fields", () => {
  test("octal, NUL or space terminated, with leading spaces", () => {
    expect(parseNumeric(Buffer.from("0000644\0"), "mode")).toBe(0o644);
    expect(parseNumeric(Buffer.from("   644 \0"), "mode")).toBe(0o644);
    expect(parseNumeric(Buffer.from("\0\0\0\0"), "mode")).toBe(0);
  });
  test("GNU base-256", () => {
    const f = Buffer.alloc(8);
    f[0] = 0x80;
    f.writeUInt32BE(3000000, 4);
    expect(parseNumeric(f, "uid")).toBe(3000000);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeBigUInt64BE(2n ** 40n, 4);
    expect(parseNumeric(big, "size")).toBe(2 ** 40);
  });
  test("negative and garbage are refused", () => {
    expect(() => parseNumeric(Buffer.from([0xff, 0xff, 0xff, 0xff]), "mtime")).toThrow(/negative mtime/);
    expect(() => parseNumeric(Buffer.from("12x\0"), "size")).toThrow(/bad size/);
  });
});

describe("header blocks", () => {
  test("a zero block is the end", () => {
    expect(parseHeaderBlock(Buffer.alloc(512))).toBeNull();
  });
  test("a bad checksum says it is not a tar", () => {
    const block = tarHeader({ path: "a", type: "file", size: 0 });
    block[0] = "b".charCodeAt(0);
    expect(() => parseHeaderBlock(block)).toThrow(/bad tar header checksum/);
  });
  test("ustar prefix joins the name", () => {
    const path = `${"p".repeat(120)}/${"n".repeat(90)}`;
    const block = tarHeader({ path, type: "file" });
    expect(block.length).toBe(512); // no PAX header: prefix/name fit
    expect(parseHeaderBlock(block)!.name).toBe(path);
  });
});

describe("PAX records", () => {
  test("values are bytes: newlines and '=' inside a value, lengths counting themselves", () => {
    const value = Buffer.from([0x3d, 0x0a, 0xff, 0x00]);
    const rec = (k: string, v: Buffer) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from("\n")]);
      let n = body.length + 1;
      while (String(n).length + body.length !== n) n = String(n).length + body.length;
      return Buffer.concat([Buffer.from(String(n)), body]);
    };
    const data = Buffer.concat([rec("path", Buffer.from("a/b")), rec("SCHILY.xattr.user.x", value)]);
    const m = parsePaxRecords(data);
    expect(m.get("path")!.toString()).toBe("a/b");
    expect(m.get("SCHILY.xattr.user.x")).toEqual(value);
  });
  test("a wrong length is refused", () => {
    expect(() => parsePaxRecords(Buffer.from("99 path=a\n"))).toThrow(/malformed PAX/);
    expect(() => parsePaxRecords(Buffer.from("x path=a\n"))).toThrow(/malformed PAX/);
  });
});

describe("the writer, read back", () => {
  test("long names, long links, huge ids, xattrs and devices survive", async () => {
    const long = `${"x".repeat(300)}/f`;
    const xattrs = new Map<string, Uint8Array>([["security.capability", CAP_NET_RAW_EP]]);
    const tar = Buffer.concat([
      tarHeader({ path: "dir", type: "dir", mode: 0o1777, mtime: 5 }),
      tarHeader({ path: long, type: "file", size: 3, uid: 5000000, gid: 7, xattrs, mode: 0o4755 }),
      Buffer.from("abc"),
      tarPadding(3),
      tarHeader({ path: "l", type: "symlink", linkname: "y".repeat(200) }),
      tarHeader({ path: "c", type: "char", devmajor: 4095, devminor: 1048575 }),
      TAR_END,
    ]);
    const [dir, file, link, dev] = await readAll(tar);
    expect(dir).toMatchObject({ path: "dir/", type: "dir", mode: 0o1777, mtime: 5 });
    expect(file).toMatchObject({ path: long, size: 3, uid: 5000000, gid: 7, mode: 0o4755, data: "abc" });
    expect(file!.xattrs.get("security.capability")).toEqual(CAP_NET_RAW_EP);
    expect(link).toMatchObject({ type: "symlink", linkname: "y".repeat(200) });
    expect(dev).toMatchObject({ type: "char", devmajor: 4095, devminor: 1048575 });
  });
});

describe("damaged and unsupported archives", () => {
  const file = Buffer.concat([tarHeader({ path: "f", type: "file", size: 1000 }), Buffer.alloc(1000, 1), tarPadding(1000)]);
  test("truncated data", async () => {
    await expect(readAll(file.subarray(0, 700))).rejects.toThrow(/truncated/);
  });
  test("a missing end-of-archive marker is accepted (as GNU tar and Go do)", async () => {
    expect((await readAll(file)).length).toBe(1);
  });
  test("GNU sparse entries are refused", async () => {
    const h = tarHeader({ path: "s", type: "file" });
    h[156] = "S".charCodeAt(0);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of h) sum += c;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
    await expect(readAll(Buffer.concat([h, TAR_END]))).rejects.toThrow(/sparse/);
  });
  test("the stream is read to its end after the end marker (so a hash covers it all)", async () => {
    const tar = Buffer.concat([file, TAR_END, Buffer.alloc(9000)]);
    let seen = 0;
    async function* counting() {
      for await (const c of chunked(tar, 4096)) {
        seen += c.length;
        yield c;
      }
    }
    for await (const _ of readTar(counting())) {
    }
    expect(seen).toBe(tar.length);
  });
  test("bodies not read are skipped", async () => {
    const two = Buffer.concat([file, tarHeader({ path: "g", type: "file", size: 2 }), Buffer.from("ok"), tarPadding(2), TAR_END]);
    const names: string[] = [];
    for await (const e of readTar(chunked(two, 100))) names.push(e.path);
    expect(names).toEqual(["f", "g"]);
  });
});
