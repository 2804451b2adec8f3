import { describe, expect, test } from "bun:test";
import { ago, humanDuration, since } from "../../src/engine/human-time.ts";

const S = 1000;
const H = 3600 * S;

describe("humanDuration: docker's words for how long", () => {
  test("each threshold", () => {
    const cases: [number, string][] = [
      [0, "Less than a second"],
      [999, "Less than a second"],
      [S, "1 second"],
      [59 * S, "59 seconds"],
      [60 * S, "About a minute"],
      [119 * S, "About a minute"],
      [120 * S, "2 minutes"],
      [59 * 60 * S, "59 minutes"],
      [60 * 60 * S, "About an hour"],
      [1.6 * H, "2 hours"],
      [47 * H, "47 hours"],
      [48 * H, "2 days"],
      [13 * 24 * H, "13 days"],
      [14 * 24 * H, "2 weeks"],
      [60 * 24 * H, "2 months"],
      [729 * 24 * H, "24 months"],
      [730 * 24 * H, "2 years"],
    ];
    for (const [ms, words] of cases) expect([ms, humanDuration(ms)]).toEqual([ms, words]);
    expect(humanDuration(-5)).toBe("Less than a second"); // a clock a little ahead
  });

  test("since: from an ISO time; nothing for none or a bad one", () => {
    const now = Date.parse("2026-12-07T12:00:00Z");
    expect(since("2026-12-07T11:57:00Z", now)).toBe("3 minutes");
    expect(since(undefined, now)).toBe("");
    expect(since("not a time", now)).toBe("");
    expect(ago("2026-12-07T11:57:00Z", now)).toBe("3 minutes ago");
    expect(ago(undefined, now)).toBe("");
    expect(ago("", now)).toBe("");
  });
});
