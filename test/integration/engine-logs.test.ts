/**
 * husk logs --since/--until: the entries of a time span, by the times the monitor stamped;
 * and a follower that reads only what is new (a log past the first read is not read again).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine logs", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("--since and --until pick the lines of a time span", async () => {
    expect(
      (
        await w.husk([
          "run",
          "-d",
          "--name",
          "lg",
          "--network",
          "none",
          "busybox",
          "sh",
          "-c",
          "echo early; sleep 1.5; echo late",
        ])
      ).code,
    ).toBe(0);
    await until(async () => (await w.engine.inspect("lg")).State.Status === "exited", 10000, "the exit");
    const stamped = (await w.husk(["logs", "-t", "lg"])).stdout.trim().split("\n");
    const lateAt = stamped[1]!.split(" ")[0]!;
    expect((await w.husk(["logs", "--since", lateAt, "lg"])).stdout).toBe("late\n");
    expect((await w.husk(["logs", "--until", lateAt, "lg"])).stdout).toBe("early\nlate\n");
    const beforeLate = new Date(Date.parse(lateAt) - 1).toISOString();
    expect((await w.husk(["logs", "--until", beforeLate, "lg"])).stdout).toBe("early\n");
    expect((await w.husk(["logs", "--since", "1h", "lg"])).stdout).toBe("early\nlate\n");
    const entries = [];
    for await (const e of w.engine.logs("lg", { since: new Date(Date.parse(lateAt)) })) entries.push(e.log);
    expect(entries).toEqual(["late\n"]);
    const bad = await w.husk(["logs", "--since", "yesterday", "lg"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--since: invalid time");
    await w.husk(["rm", "lg"]);
  });

  test("-f follows a growing log to the end", async () => {
    expect(
      (
        await w.husk([
          "run",
          "-d",
          "--name",
          "fl",
          "--network",
          "none",
          "busybox",
          "sh",
          "-c",
          "for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done",
        ])
      ).code,
    ).toBe(0);
    const f = await w.husk(["logs", "-f", "fl"], { timeoutMs: 10000 });
    expect(f.stdout).toBe("line1\nline2\nline3\nline4\nline5\n");
    await w.husk(["rm", "fl"]);
  });
});
