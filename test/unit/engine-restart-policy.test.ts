import { describe, expect, test } from "bun:test";
import { FIRST_DELAY_MS, nextDelay, parseRestartPolicy, shouldRestart } from "../../src/engine/restart-policy.ts";

describe("restart policy", () => {
  test("parses docker's forms and refuses the rest", () => {
    expect(parseRestartPolicy("always")).toEqual({ name: "always", maximumRetryCount: 0 });
    expect(parseRestartPolicy("on-failure:5")).toEqual({ name: "on-failure", maximumRetryCount: 5 });
    expect(parseRestartPolicy("unless-stopped").name).toBe("unless-stopped");
    for (const bad of ["sometimes", "always:3", "on-failure:x", "", 3])
      expect(() => parseRestartPolicy(bad)).toThrow("restart policy");
  });

  test("who restarts: on-failure only on a non-zero status and within its count; none once stopped by hand", () => {
    const s = (exitCode: number, restartCount = 0, stoppedByUser = false) => ({ exitCode, restartCount, stoppedByUser });
    expect(shouldRestart(undefined, s(1))).toBe(false);
    expect(shouldRestart(parseRestartPolicy("no"), s(1))).toBe(false);
    expect(shouldRestart(parseRestartPolicy("always"), s(0))).toBe(true);
    expect(shouldRestart(parseRestartPolicy("always"), s(0, 0, true))).toBe(false);
    expect(shouldRestart(parseRestartPolicy("unless-stopped"), s(0, 0, true))).toBe(false);
    expect(shouldRestart(parseRestartPolicy("on-failure"), s(0))).toBe(false);
    expect(shouldRestart(parseRestartPolicy("on-failure"), s(2, 100))).toBe(true);
    expect(shouldRestart(parseRestartPolicy("on-failure:2"), s(2, 1))).toBe(true);
    expect(shouldRestart(parseRestartPolicy("on-failure:2"), s(2, 2))).toBe(false);
  });

  test("back-off: 100 ms, doubled per quick restart, at most a minute, reset after a long run", () => {
    expect(nextDelay(undefined, 0)).toBe(FIRST_DELAY_MS);
    expect(nextDelay(100, 50)).toBe(200);
    expect(nextDelay(40_000, 50)).toBe(60_000);
    expect(nextDelay(40_000, 10_000)).toBe(FIRST_DELAY_MS);
  });
});
