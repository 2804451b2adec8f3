/**
 * `husk run --init`: a minimal init (the helper, staying as PID 1) reaps orphans that the
 * program never waits for, and passes signals on to the program, which as PID 1 itself would
 * ignore the ones it has no handler for. Each case beside its control without --init.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine --init", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  /** A container whose program orphans a short sleep and then never waits for anything. */
  async function orphaning(name: string, init: boolean): Promise<void> {
    const args = ["run", "-d", "--name", name, "--network", "none", ...(init ? ["--init"] : []), "busybox"];
    const r = await w.husk([...args, "sh", "-c", "(sleep 0.2 &); exec sleep 60"]);
    expect(r.code).toBe(0);
  }

  const zombies = async (name: string) =>
    (await w.husk(["exec", name, "sh", "-c", "grep -l '^State:.*Z' /proc/[0-9]*/status || true"])).stdout.trim();

  test("an orphan is reaped with --init, and stays a zombie without", async () => {
    await orphaning("with-init", true);
    await orphaning("without-init", false);
    // The control shows the zombie once the orphan has exited.
    await until(async () => (await zombies("without-init")) !== "", 5000, "the control's zombie");
    expect(await zombies("with-init")).toBe("");
    expect((await w.husk(["exec", "with-init", "cat", "/proc/1/comm"])).stdout).toBe("husk-init\n");
    expect((await w.husk(["exec", "without-init", "cat", "/proc/1/comm"])).stdout).toBe("sleep\n");
    for (const n of ["with-init", "without-init"]) await w.husk(["rm", "-f", n]);
  });

  test("stop's SIGTERM reaches the program through the init (exit 143); without --init PID 1 ignores it (137)", async () => {
    const statusAfterStop = async (name: string, init: boolean) => {
      const r = await w.husk([
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        ...(init ? ["--init"] : []),
        "busybox",
        "sleep",
        "60",
      ]);
      expect(r.code).toBe(0);
      expect((await w.husk(["stop", "-t", "2", name])).code).toBe(0);
      const code = (await w.engine.inspect(name)).State.ExitCode;
      await w.husk(["rm", "-f", name]);
      return code;
    };
    expect(await statusAfterStop("term-init", true)).toBe(143);
    expect(await statusAfterStop("term-plain", false)).toBe(137);
  });

  test("the exit status of the program is the container's", async () => {
    const r = await w.husk(["run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c", "exit 7"]);
    expect(r.code).toBe(7);
  });
});
