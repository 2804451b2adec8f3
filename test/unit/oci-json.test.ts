import { describe, expect, test } from "bun:test";
import { HuskError } from "../../src/errors.ts";
import { MAX_JSON_DEPTH, parseJson } from "../../src/oci/json.ts";
import { isRlimInfinity } from "../../src/oci/rlimits.ts";
import { parseSpec } from "../../src/oci/validate.ts";

const WHAT = 'parse "/b/config.json"';

/** A small valid config.json with `extra` spliced into process (a JSON text fragment). */
function config(processExtra = "", linuxExtra = ""): string {
  return `{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"${processExtra}},"linux":{"namespaces":[{"type":"mount"}]${linuxExtra}}}`;
}

function parseError(text: string): string {
  try {
    parseSpec(parseJson(text, WHAT));
  } catch (e) {
    expect(e).toBeInstanceOf(HuskError);
    const message = (e as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error("expected an error");
}

const rlimit = (hard: string, soft = "0") => `,"rlimits":[{"type":"RLIMIT_CORE","hard":${hard},"soft":${soft}}]`;

describe("integers too large for the fields, though JSON.parse rounds them into range", () => {
  test("2^64 is not a uint64 (JSON.parse makes it the same double as 2^64-1)", () => {
    expect(parseError(config(rlimit("18446744073709551616")))).toBe(
      "process.rlimits[0].hard: must be at most 18446744073709551615",
    );
    expect(parseError(config(rlimit("18446744073709551615", "18446744073709551617")))).toBe(
      "process.rlimits[0].soft: must be at most 18446744073709551615",
    );
    expect(parseError(config(rlimit("1.8446744073709552e19")))).toBe(
      "process.rlimits[0].hard: must be at most 18446744073709551615",
    );
    expect(parseError(config(rlimit("1e400")))).toBe("process.rlimits[0].hard: must be at most 18446744073709551615");
  });

  test("2^64-1 itself, however written, is RLIM_INFINITY", () => {
    for (const text of ["18446744073709551615", "1.8446744073709551615e19", "184467440737095516150e-1"]) {
      const spec = parseSpec(parseJson(config(rlimit(text, text)), WHAT));
      expect(isRlimInfinity(spec.process.rlimits![0]!.hard)).toBe(true);
    }
  });

  test("below -2^63 is not an int64", () => {
    expect(parseError(config("", ',"resources":{"memory":{"limit":-9223372036854775809}}'))).toBe(
      "linux.resources.memory.limit: must be an integer",
    );
    const spec = parseSpec(parseJson(config("", ',"resources":{"memory":{"limit":-9223372036854775808}}'), WHAT));
    expect(spec.linux?.resources?.memory?.limit).toBe(-(2 ** 63));
  });

  test("ordinary numbers are untouched", () => {
    expect(parseJson('{"a":[1,-2,3.5,1e3,9007199254740993,"18446744073709551616"]}', WHAT)).toEqual({
      a: [1, -2, 3.5, 1000, 9007199254740992, "18446744073709551616"],
    });
  });
});

describe("nesting", () => {
  test(`more than ${MAX_JSON_DEPTH} levels is refused before parsing, naming the file`, () => {
    for (const text of [
      "[".repeat(100_000) + "]".repeat(100_000),
      `{"a":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`,
    ]) {
      expect(() => parseJson(text, WHAT)).toThrow(
        new HuskError(`nested too deeply (more than ${MAX_JSON_DEPTH} levels)`, { what: WHAT }),
      );
    }
  });

  test("brackets inside strings do not count", () => {
    const text = `{"a":"${"[{".repeat(5000)}\\"[","b":[[1]]}`;
    expect(parseJson(text, WHAT)).toEqual({ a: `${"[{".repeat(5000)}"[`, b: [[1]] });
  });

  test(`${MAX_JSON_DEPTH} levels parse`, () => {
    const text = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    expect(Array.isArray(parseJson(text, WHAT))).toBe(true);
  });
});

describe("syntax errors", () => {
  test("one line naming the file", () => {
    expect(() => parseJson('{"ociVersion": "1.2.0", "process": {', WHAT)).toThrow(/^parse "\/b\/config.json": invalid JSON: /);
    try {
      parseJson('{"a":\n\u2028\u0001}', WHAT);
    } catch (e) {
      expect((e as Error).message.split(/[\n\r\u2028\u2029]/)).toHaveLength(1);
    }
  });
});
