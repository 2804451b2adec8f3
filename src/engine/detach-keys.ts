/**
 * docker's --detach-keys: a comma-separated list of keys, each one character or "ctrl-<x>" with
 * x a letter or one of @ [ \ ] ^ _ (ctrl-a is 0x01 … ctrl-_ is 0x1f). The default is ctrl-p,ctrl-q.
 */
import { HuskError } from "../errors.ts";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

export function parseDetachKeys(text: string = DEFAULT_DETACH_KEYS, origin = "RunOptions.detachKeys"): Uint8Array {
  if (typeof text !== "string") throw new HuskError("must be a string", { origin });
  const out: number[] = [];
  for (const key of text.split(",")) {
    const k = key.trim().toLowerCase();
    if (k.length === 1 && k.charCodeAt(0) < 0x80) out.push(key.trim().charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) out.push(k.charCodeAt(5) & 0x1f);
    else
      throw new HuskError(`invalid detach key ${JSON.stringify(key)}: one character or ctrl-<a-z@[\\]^_>`, {
        origin,
      });
  }
  return Uint8Array.from(out);
}

/**
 * The caller's input with the detach keys taken out, as the helper's proxy does for `run -it`
 * (native/sockets.c) and docker does: a key that may start the sequence is held until the next
 * shows whether it does; a sequence broken off goes on whole, and the complete one never does.
 */
export class DetachKeyFilter {
  #held = 0;
  constructor(readonly keys: Uint8Array) {}

  /** What goes on to the container; detach once the whole sequence was typed (input after it is dropped). */
  push(input: Uint8Array): { out: Uint8Array; detach: boolean } {
    const keys = this.keys;
    if (keys.length === 0 || (this.#held === 0 && !input.includes(keys[0]!))) return { out: input, detach: false };
    const out: number[] = [];
    for (const b of input) {
      if (this.#held < keys.length && b === keys[this.#held]) {
        if (++this.#held === keys.length) return { out: Uint8Array.from(out), detach: true };
        continue;
      }
      for (let k = 0; k < this.#held; k++) out.push(keys[k]!);
      this.#held = b === keys[0] ? 1 : 0;
      if (this.#held === 0) out.push(b);
    }
    return { out: Uint8Array.from(out), detach: false };
  }
}
