import { describe, expect, test } from "bun:test";
import { logTime } from "../../src/engine/engine.ts";

describe("logs --since/--until times", () => {
  const now = Date.parse("2026-12-07T12:00:00Z");
  test("durations back from now, RFC 3339 times, Unix seconds, Dates", () => {
    expect(logTime("10m", "since", now)).toBe(now - 600_000);
    expect(logTime("1h30m", "since", now)).toBe(now - 5_400_000);
    expect(logTime("250ms", "since", now)).toBe(now - 250);
    expect(logTime("2026-12-07T11:00:00Z", "since", now)).toBe(now - 3_600_000);
    expect(logTime("1765108800.5", "since", now)).toBe(1765108800500);
    expect(logTime(new Date(now), "until", now)).toBe(now);
    expect(logTime(undefined, "since", now)).toBeUndefined();
  });
  test("anything else names the option", () => {
    for (const bad of ["bogus", "10x", "m", ""]) expect(() => logTime(bad, "since", now)).toThrow("LogsOptions.since");
  });
});
