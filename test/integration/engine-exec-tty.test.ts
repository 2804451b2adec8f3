/**
 * husk exec -it: the command gets a pty the helper proxies to the caller's terminal (script(1)
 * plays it): a tty on its stdin, TERM set, keys typed reach it, its exit status passes through;
 * exec --privileged gives the command every capability and not the container's init.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type EngineWorld, engineWorld, HUSK_ENGINE } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { terminal } from "../fixtures/terminal.ts";

describeAsRoot("engine exec -it", () => {
  let w: EngineWorld;
  beforeAll(async () => {
    w = engineWorld();
    expect((await w.husk(["run", "-d", "--name", "box", "--network", "none", "busybox", "sleep", "120"])).code).toBe(0);
  });
  afterAll(async () => {
    await w.husk(["rm", "-f", "box"]);
    await w.cleanup();
  });

  test("a terminal: tty, TERM, typed input, exit status", async () => {
    const sh = "tty; echo term=$TERM; echo ready; read line; echo got:$line; exit 5";
    const t = terminal(`${HUSK_ENGINE} exec -it box sh -c '${sh}'`, w.env);
    try {
      await t.waitFor(/ready/);
      t.type("hello\r");
      await t.waitFor(/got:hello/);
      expect(await t.exitCode()).toBe(5);
      expect(t.text()).toMatch(/\/dev\/pts\/\d+\n/);
      expect(t.text()).toContain("term=xterm");
    } finally {
      await t.close();
    }
    const noTerminal = await w.engine.exec("box", ["true"], { tty: true }).catch((e) => e);
    expect(String(noTerminal)).toContain('needs stdio "inherit"');
  });

  test("--privileged: every capability for the command, none more for the container", async () => {
    const caps = (args: string[]) => w.husk(["exec", ...args, "box", "sh", "-c", "grep CapEff /proc/self/status"]);
    const plain = (await caps([])).stdout;
    const privileged = (await caps(["--privileged"])).stdout;
    expect(privileged).not.toBe(plain);
    expect(Number.parseInt(privileged.split(/\s+/)[1]!, 16)).toBeGreaterThan(Number.parseInt(plain.split(/\s+/)[1]!, 16));
    // The container's own process keeps docker's set.
    const pid = (await w.engine.inspect("box")).State.Pid;
    const init = (await Bun.file(`/proc/${pid}/status`).text()).match(/CapEff:\s*(\w+)/)![1];
    expect(`CapEff:\t${init}\n`).toBe(plain);
  });
});
