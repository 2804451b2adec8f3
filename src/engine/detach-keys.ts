/**
 * docker's --detach-keys: a comma-separated list of keys, each one character or "ctrl-<x>" with
 * x a letter or one of @ [ \ ] ^ _ (ctrl-a is 0x01 … ctrl-_ is 0x1f). The default is ctrl-p,ctrl-q.
 */
import { HuskError } from "../errors.ts";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

export function parseDetachKeys(text: string = DEFAULT_DETACH_KEYS): Uint8Array {
  if (typeof text !== "string") throw new HuskError("must be a string", { origin: "RunOptions.detachKeys" });
  const out: number[] = [];
  for (const key of text.split(",")) {
    const k = key.trim().toLowerCase();
    if (k.length === 1 && k.charCodeAt(0) < 0x80) out.push(key.trim().charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) out.push(k.charCodeAt(5) & 0x1f);
    else
      throw new HuskError(`invalid detach key ${JSON.stringify(key)}: one character or ctrl-<a-z@[\\]^_>`, {
        origin: "RunOptions.detachKeys",
      });
  }
  return Uint8Array.from(out);
}
