/**
 * Reading config.json and process.json text. Two things JSON.parse alone gets wrong for a
 * runtime:
 *
 * - Integers past 2^53 are rounded to the nearest double, so 18446744073709551616 (2^64, not a
 *   uint64) reads as the same number as 18446744073709551615 (RLIM_INFINITY) and would pass the
 *   uint64 check. Where the engine passes the literal's source text to the reviver (Bun; V8 from
 *   Node 22), a literal outside every integer field's range (above 2^64-1 or below -2^63) is
 *   replaced by ±Infinity, which no integer field accepts; the shape check then names the field.
 *   A literal within range keeps its (rounded) value.
 * - Nesting: the reviver walks the document recursively and runs out of stack a few thousand
 *   levels down ("Maximum call stack size exceeded"), and so would the validator. Nesting is
 *   bounded before parsing.
 */
import { HuskError } from "../errors.ts";

/**
 * Deepest nesting of arrays and objects accepted. A config.json is about 6 levels deep
 * (linux.seccomp.syscalls[0].args[0].value); extension fields may add some. Go's encoding/json,
 * which runc uses, stops at 10000; JavaScriptCore's reviver walk runs out of stack near 4000.
 */
export const MAX_JSON_DEPTH = 1000;

const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);

/** Deepest nesting in a JSON text, counting brackets outside strings; stops counting past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Is the exact value of a JSON number literal within [-2^63, 2^64-1]? */
function inIntegerRange(source: string, rounded: number): boolean {
  // Far outside: no need for exact arithmetic (and 1e999999 should not build a huge BigInt).
  if (Math.abs(rounded) > 2 ** 65) return false;
  const m = NUMBER.exec(source);
  if (!m) return true;
  const [, sign, whole, fraction = "", exponent = "0"] = m;
  // value = digits × 10^scale, compared without rounding.
  const digits = BigInt(`${sign}${whole}${fraction}`);
  const scale = Number(exponent) - fraction.length;
  const scaled = (bound: bigint) =>
    scale >= 0 ? [digits * 10n ** BigInt(scale), bound] : [digits, bound * 10n ** BigInt(-scale)];
  const [upperValue, upper] = scaled(U64_MAX) as [bigint, bigint];
  const [lowerValue, lower] = scaled(I64_MIN) as [bigint, bigint];
  return upperValue <= upper && lowerValue >= lower;
}

/** The reviver: only numbers too large to be exact doubles are looked at. */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Math.abs(value) < 2 ** 53 || context?.source === undefined) return value;
  return inIntegerRange(context.source, value) ? value : value < 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** Numbers that may be rounded: 16 or more digits in a row, or an exponent. Anything else skips the reviver. */
const MAYBE_LARGE = /\d{16}|\d[eE]/;

/**
 * Parse a config.json or process.json text. Throws a HuskError whose `what` is the caller's
 * (`parse "/b/config.json"`): invalid JSON, or nested more than MAX_JSON_DEPTH levels.
 */
export function parseJson(text: string, what: string): unknown {
  if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new HuskError(`nested too deeply (more than ${MAX_JSON_DEPTH} levels)`, { what });
  }
  try {
    return MAYBE_LARGE.test(text) ? JSON.parse(text, exactIntegers as never) : JSON.parse(text);
  } catch (err) {
    throw new HuskError(`invalid JSON: ${(err as Error).message}`, { what });
  }
}
