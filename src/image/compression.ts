/**
 * Layer and archive compression, told by the first bytes (as docker does, whatever a media type
 * claims): none, gzip (node:zlib) or zstd. zstd comes from node:zlib where the runtime has it
 * (Bun, Node ≥ 22.15) and otherwise from fzstd, a small pure-JavaScript streaming decoder with
 * no dependencies and no native build (Node 20's zlib has no zstd; a native binding would need
 * a prebuilt binary or a compiler at install). xz and bzip2, which `docker load` also takes,
 * are refused with a clear message.
 */
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { Decompress } from "fzstd";
import { HuskError } from "../errors.ts";

export type Compression = "none" | "gzip" | "zstd";

/** What the first bytes of a stream say it is compressed with. */
export function sniffCompression(head: Uint8Array): Compression | "xz" | "bzip2" {
  const b = (i: number) => head[i];
  if (b(0) === 0x1f && b(1) === 0x8b) return "gzip";
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return "zstd";
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) return "xz";
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return "bzip2";
  return "none";
}

/** At least n bytes from the front of a stream (fewer only if it is shorter), and the rest of it. */
export async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<[Buffer, AsyncIterable<Uint8Array>]> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let got = 0;
  let ended = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
    got += r.value.byteLength;
  }
  const first = Buffer.concat(head);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (first.length) yield first;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  return [first, rest()];
}

/** Run a stream through a node:zlib transform, ending it early if the consumer stops. */
async function* throughZlib(source: AsyncIterable<Uint8Array>, z: zlib.Gunzip | zlib.ZstdDecompress): AsyncGenerator<Buffer> {
  const input = Readable.from(source, { objectMode: false });
  input.on("error", (err) => z.destroy(err));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } finally {
    input.destroy();
    z.destroy();
  }
}

/** zstd through fzstd (exported for tests: Bun and newer Node use node:zlib). */
export async function* throughFzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  // fzstd may hand out views of its window buffer: copy before the next push reuses it.
  const d = new Decompress((data) => {
    if (data.length) out.push(Buffer.from(data));
  });
  try {
    for await (const chunk of source) {
      d.push(chunk);
      yield* out.splice(0);
    }
    d.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof HuskError) throw err;
    throw new HuskError(`zstd: ${(err as Error).message}`, { what: "decompress" });
  }
  yield* out.splice(0);
}

/** The decompressed stream, whatever the input was compressed with (if at all). */
export async function* decompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const [head, all] = await peek(source, 6);
  const kind = sniffCompression(head);
  if (kind === "xz" || kind === "bzip2") {
    throw new HuskError(`${kind}-compressed archives and layers are not supported (use gzip or zstd)`, { what: "decompress" });
  }
  if (kind === "gzip") yield* throughZlib(all, zlib.createGunzip());
  else if (kind === "zstd" && typeof zlib.createZstdDecompress === "function")
    yield* throughZlib(all, zlib.createZstdDecompress());
  else if (kind === "zstd") yield* throughFzstd(all);
  else for await (const c of all) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}
