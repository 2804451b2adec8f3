/**
 * The caller's side of native/batch.c's wire (`husk-helper --batch COUNT SHAPE`), the same for
 * Bun's batches (bun.ts) and Node's (node.ts): the SHAPE argument for a launch's stdio, and the
 * records the batch writes on its control channel.
 */
import type { SpawnOptions, StdioSpec } from "./index.ts";

export const BATCH_STARTED = 1;
export const BATCH_EXITED = 2;
const BATCH_RECORD = 12;

export interface BatchShape {
  /** fds 0–2 of each helper, as the launch gives them. */
  std: readonly StdioSpec[];
  /** A letter per fd: "i" the batch's own (the caller's), "n" /dev/null, "p" a pipe of the caller's. */
  shape: string;
  /** Which of fds 0–2 are pipes of the caller's. */
  piped: boolean[];
  /** The fds of a helper's set: its pipes, then its sync channel. */
  width: number;
}

/** The shape of a batch for these options; an fd of the caller's (preserved, or as stdio) names nothing a later helper could have. */
export function batchShape(opts: SpawnOptions): BatchShape {
  const std = opts.stdio ?? ["inherit", "inherit", "inherit"];
  if ((opts.preserveFds ?? 0) > 0 || std.some((s) => typeof s === "number"))
    throw new Error("a batch of helpers takes no fd of the caller's");
  const shape = std.map((s) => (s === "inherit" ? "i" : s === "ignore" ? "n" : "p")).join("");
  const piped = std.map((s) => s === "pipe");
  return { std, shape, piped, width: piped.filter(Boolean).length + 1 };
}

/** The control channel's records (u32 type, i32 index, i32 value, little endian) out of its chunks as they come. */
export class BatchRecords {
  private rest = new Uint8Array(0);

  /** Each whole record so far to `on`; a part of one waits for the next chunk. */
  push(chunk: Uint8Array, on: (type: number, index: number, value: number) => void): void {
    const all = new Uint8Array(this.rest.length + chunk.length);
    all.set(this.rest);
    all.set(chunk, this.rest.length);
    const view = new DataView(all.buffer);
    let at = 0;
    for (; at + BATCH_RECORD <= all.length; at += BATCH_RECORD)
      on(view.getUint32(at, true), view.getInt32(at + 4, true), view.getInt32(at + 8, true));
    this.rest = all.slice(at);
  }
}
