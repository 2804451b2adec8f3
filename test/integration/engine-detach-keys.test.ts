/**
 * `husk run -it`'s detach keys (docker's ^P^Q, or --detach-keys): the CLI exits 0 and gives the
 * terminal back while the container runs on as a detached one, whose monitor is the helper that
 * proxied the terminal (native/monitor.c): `ps` shows it, `logs` has what it wrote (before the keys too),
 * stop records its exit, --rm removes it when it ends. A lone ^P followed by another key reaches
 * the container. script(1) plays the caller's terminal; the test types once the container says
 * it is ready.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { type EngineWorld, engineWorld, HUSK_ENGINE, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { CTRL_P, CTRL_Q, terminal } from "../fixtures/terminal.ts";

const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);

describeAsRoot("engine detach keys", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("^P^Q: the CLI exits 0, the container runs on under the helper as monitor; logs, stop, exit recorded", async () => {
    // TERM ends it with 7 (a trap; `wait` is interrupted by it), so the recorded status is the container's own.
    const sh = 'trap "exit 7" TERM; echo ready; read line; echo got:$line; (sleep 2; echo later-$((6*7))) & sleep 1000 & wait';
    const t = terminal(`${HUSK_ENGINE} run -it --name k1 --network none busybox sh -c '${sh}'`, w.env);
    try {
      await t.waitFor(/ready/);
      t.type("hi\r");
      await t.waitFor(/got:hi/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
      // Nothing of the container's after the keys reached the caller's terminal.
      expect(t.text()).not.toContain("later-42");
      const info = await w.engine.inspect("k1");
      expect(info.State.Running).toBe(true);
      const ps = await w.husk(["ps"]);
      expect(ps.stdout).toMatch(/k1\n/);
      // The helper that proxied the terminal is its parent still, no husk (JavaScript) process.
      expect(readFileSync(`/proc/${ppid(info.State.Pid)}/comm`, "utf8").trim()).toMatch(/husk-help|memfd/);
      await until(async () => (await w.husk(["logs", "k1"])).stdout.includes("later-42"), 10000, "the log");
      const stop = await w.husk(["stop", "-t", "5", "k1"]);
      expect(stop.code).toBe(0);
      const after = await w.engine.inspect("k1");
      expect(after.State.Running).toBe(false);
      expect(after.State.ExitCode).toBe(7);
      expect((await w.husk(["ps", "-a"])).stdout).toMatch(/Exited \(7\)/);
      const id = after.Id;
      expect((await w.husk(["rm", "k1"])).code).toBe(0);
      expect(w.leftovers(id)).toEqual([]);
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "k1"]);
    }
  });

  test("^P^Q on a bridge network: the lease (its owner the helper, now the monitor) outlives the CLI and is not reclaimed", async () => {
    const net = await w.network("d");
    const t = terminal(
      `${HUSK_ENGINE} run -it --name k6 --network ${net.name} busybox sh -c 'echo ready; exec sleep 1000'`,
      w.env,
    );
    try {
      await t.waitFor(/ready/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
      const info = await w.engine.inspect("k6");
      const [lease] = w.engine.networks.inspect(net.name).leases;
      expect(lease?.owner?.pid).toBe(ppid(info.State.Pid));
      // Another container's lease reclaims what is stale: not this one.
      expect((await w.husk(["run", "--rm", "--network", net.name, "busybox", "true"])).code).toBe(0);
      expect(w.engine.networks.inspect(net.name).leases.map((l) => l.containerId)).toEqual([info.Id]);
      const addr = await w.husk(["exec", "k6", "ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
      expect(addr.stdout).toContain(`inet ${lease!.address}/`);
      expect((await w.husk(["rm", "-f", "k6"])).code).toBe(0);
      expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "k6"]);
    }
  });

  test("--rm and ^P^Q: removed when it ends by itself later", async () => {
    const sh = "echo ready; read line; echo got:$line; sleep 3; exit 3";
    const t = terminal(`${HUSK_ENGINE} run --rm -it --name k2 --network none busybox sh -c '${sh}'`, w.env);
    try {
      await t.waitFor(/ready/);
      const id = (await w.engine.inspect("k2")).Id;
      t.type("x\r");
      await t.waitFor(/got:x/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
      expect((await w.engine.inspect("k2")).State.Running).toBe(true);
      await until(() => w.leftovers(id).length === 0, 20000, "the container removed");
      expect((await w.husk(["ps", "-a"])).stdout).not.toContain("k2");
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "k2"]);
    }
  });

  test("until the keys are typed it is the caller's: the husk CLI killed takes the container with it", async () => {
    const t = terminal(`${HUSK_ENGINE} run -it --name k5 --network none busybox sh -c 'echo ready; exec sleep 1000'`, w.env);
    try {
      await t.waitFor(/ready/);
      // The container can print before the CLI has recorded its pid (onStart): under load, wait for it.
      let pid = 0;
      await until(
        async () => {
          pid = (await w.engine.inspect("k5")).State.Pid;
          return pid > 0;
        },
        10000,
        "the pid recorded",
      );
      const helper = ppid(pid);
      const cli = ppid(helper);
      expect(readFileSync(`/proc/${cli}/cmdline`, "utf8")).toContain("run\0-it");
      process.kill(cli, "SIGKILL");
      await until(
        () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"),
        10000,
        "the container killed",
      );
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "k5"]);
    }
  });

  test("a lone ^P and the key after it reach the container; it ends in the foreground with its status", async () => {
    const sh = 'echo ready; read line; echo len:$(expr length "$line"); exit 4';
    const t = terminal(`${HUSK_ENGINE} run --rm -it --network none busybox sh -c '${sh}'`, w.env);
    try {
      await t.waitFor(/ready/);
      t.type(`a${CTRL_P}b\r`);
      // a, ^P, b: three characters read, none taken as the start of a detach.
      await t.waitFor(/len:\d+/);
      expect(t.text()).toContain("len:3\n");
      expect(await t.exitCode()).toBe(4);
    } finally {
      await t.close();
    }
  });

  test("--detach-keys: another sequence detaches; ^P^Q is then only input; a bad one is refused by name", async () => {
    // Without IXON, or the container's line discipline would take ^Q as "resume output".
    const sh = 'stty -ixon; echo ready; read line; echo len:$(expr length "$line"); sleep 1000';
    const t = terminal(`${HUSK_ENGINE} run -it --detach-keys ctrl-x,a --name k3 --network none busybox sh -c '${sh}'`, w.env);
    try {
      await t.waitFor(/ready/);
      t.type(`${CTRL_P}${CTRL_Q}\r`);
      await t.waitFor(/len:\d+/);
      expect(t.text()).toContain("len:2\n");
      t.type("\x18a");
      expect(await t.exitCode()).toBe(0);
      expect((await w.engine.inspect("k3")).State.Running).toBe(true);
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "k3"]);
    }
    const bad = await w.husk(["run", "-it", "--name", "k4", "--detach-keys", "ctrl-pq", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--detach-keys");
    expect((await w.husk(["ps", "-a"])).stdout).not.toContain("k4");
  });
});
