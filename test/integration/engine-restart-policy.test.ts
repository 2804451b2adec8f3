/**
 * --restart, daemonless: the monitor's exit hook starts the container again. on-failure:N stops
 * after N restarts; always restarts a clean exit too; stop (or a kill while stopping) keeps it
 * stopped and a start by hand begins a new count; --rm and a foreground run refuse a policy.
 * After a reboot (simulated: monitors and inits killed, nothing cleaned up), `start --all
 * --filter restart-policy=…` (what contrib/systemd/husk-restart.service runs) starts them again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, engineWorld, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine restart policy", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const inspect = (name: string) => w.engine.inspect(name);

  test("on-failure:2 runs it three times in all, then leaves it exited", async () => {
    expect(
      (
        await w.husk([
          "run",
          "-d",
          "--name",
          "flaky",
          "--network",
          "none",
          "--restart",
          "on-failure:2",
          "busybox",
          "sh",
          "-c",
          "echo run; exit 3",
        ])
      ).code,
    ).toBe(0);
    await until(
      async () => (await inspect("flaky")).RestartCount === 2 && (await inspect("flaky")).State.Status === "exited",
      10000,
      "two restarts",
    );
    await Bun.sleep(500); // no third
    const i = await inspect("flaky");
    expect(i.RestartCount).toBe(2);
    expect(i.State.ExitCode).toBe(3);
    expect(i.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 2 });
    expect((await w.husk(["logs", "flaky"])).stdout).toBe("run\nrun\nrun\n");
    // A clean exit is not a failure.
    expect(
      (await w.husk(["run", "-d", "--name", "clean", "--network", "none", "--restart", "on-failure", "busybox", "true"])).code,
    ).toBe(0);
    await until(async () => (await inspect("clean")).State.Status === "exited", 5000, "the clean exit");
    await Bun.sleep(300);
    expect((await inspect("clean")).RestartCount).toBe(0);
    await w.husk(["rm", "-f", "flaky", "clean"]);
  });

  test("always restarts a clean exit; stop keeps it stopped; a start by hand counts anew", async () => {
    expect(
      (await w.husk(["run", "-d", "--name", "loop", "--network", "none", "--restart", "always", "busybox", "sleep", "0.2"])).code,
    ).toBe(0);
    await until(async () => (await inspect("loop")).RestartCount >= 2, 10000, "restarts");
    expect((await w.husk(["stop", "-t", "1", "loop"])).code).toBe(0);
    await Bun.sleep(700);
    const stopped = await inspect("loop");
    expect(stopped.State.Status).toBe("exited");
    const count = stopped.RestartCount;
    await Bun.sleep(500);
    expect((await inspect("loop")).RestartCount).toBe(count); // nothing restarted it
    expect((await w.husk(["start", "loop"])).code).toBe(0);
    expect((await inspect("loop")).RestartCount).toBe(0); // a new count
    await until(async () => (await inspect("loop")).RestartCount >= 1, 10000, "restarts after the start by hand");
    await w.husk(["rm", "-f", "loop"]);
    await Bun.sleep(500);
    expect((await w.engine.list({ all: true })).length).toBe(0); // a pending restart found it gone
  });

  test("during the back-off: Restarting in ps (with or without -a) and inspect, status=restarting; stop ends it", async () => {
    const r = await w.husk([
      "run",
      "-d",
      "--name",
      "failing",
      "--network",
      "none",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      "exit 3",
    ]);
    expect(r.code).toBe(0);
    // 100, 200, 400, 800 ms …: soon a wait long enough to be seen.
    await until(async () => (await inspect("failing")).RestartCount >= 4, 10000, "four restarts");
    await until(async () => (await inspect("failing")).State.Restarting, 5000, "a back-off seen");
    const seen = await inspect("failing");
    expect(seen.State.Status).toBe("restarting");
    expect(seen.State.Running).toBe(true); // as docker's
    expect(seen.State.ExitCode).toBe(3);
    const ps = await w.husk(["ps", "--filter", "name=failing", "--format", "{{.State}} {{.Status}}"]);
    expect(ps.stdout).toMatch(/^restarting Restarting \(3\) /);
    expect((await w.husk(["ps", "-q", "--filter", "status=restarting"])).stdout.trim()).toBe(seen.Id.slice(0, 12));
    // Not removed while restarting (docker's rule), unless forced; nor once it runs again.
    const rm = await w.husk(["rm", "failing"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/container is (restarting|running): stop the container/);
    expect((await w.husk(["stop", "-t", "1", "failing"])).code).toBe(0);
    const stopped = await inspect("failing");
    expect([stopped.State.Status, stopped.State.Restarting, stopped.State.Running]).toEqual(["exited", false, false]);
    expect((await w.husk(["ps", "-q", "--filter", "name=failing"])).stdout).toBe("");
    await w.husk(["rm", "-f", "failing"]);
  });

  test("after a reboot: start --all --filter restart-policy=… starts always and unless-stopped ones, not one stopped by hand", async () => {
    const run = (name: string, ...policy: string[]) =>
      w.husk(["run", "-d", "--name", name, "--network", "none", ...policy, "busybox", "sleep", "60"]);
    expect((await run("b-always", "--restart", "always")).code).toBe(0);
    expect((await run("b-unless", "--restart", "unless-stopped")).code).toBe(0);
    expect((await run("b-none")).code).toBe(0);
    expect((await run("b-stopped", "--restart", "unless-stopped")).code).toBe(0);
    expect((await w.husk(["stop", "-t", "0", "b-stopped"])).code).toBe(0);
    // The power goes: every monitor and init dies at once, and nothing writes or cleans up.
    const dead: number[] = [];
    for (const name of ["b-always", "b-unless", "b-none"]) {
      const init = (await inspect(name)).State.Pid;
      const monitor = Number(readFileSync(`/proc/${init}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
      process.kill(monitor, "SIGKILL");
      process.kill(init, "SIGKILL");
      dead.push(init);
    }
    const gone = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z");
      } catch {
        return true;
      }
    };
    await until(() => dead.every(gone), 5000, "the inits dead");
    // A boot finds no runtime state (/run is a tmpfs) and no cgroups: what they named is gone.
    for (const name of ["b-always", "b-unless", "b-none"]) {
      const id = (await inspect(name)).Id;
      const state = JSON.parse(readFileSync(join(w.stateRoot, id, "state.json"), "utf8")) as {
        cgroupPaths: Record<string, string>;
      };
      for (const dir of new Set(Object.values(state.cgroupPaths))) {
        try {
          rmdirSync(dir); // empty now: its processes are dead
        } catch {}
      }
      rmSync(join(w.stateRoot, id), { recursive: true, force: true });
    }
    const states = async () =>
      Object.fromEntries(
        (await w.engine.list({ all: true })).filter((c) => c.name.startsWith("b-")).map((c) => [c.name, c.state]),
      );
    expect(await states()).toEqual({ "b-always": "exited", "b-unless": "exited", "b-none": "exited", "b-stopped": "exited" });
    const boot = await w.husk([
      "start",
      "--all",
      "--filter",
      "restart-policy=always",
      "--filter",
      "restart-policy=unless-stopped",
    ]);
    expect(`${boot.code} ${boot.stderr}`).toBe("0 ");
    expect(boot.stdout.trim().split("\n").sort()).toEqual(["b-always", "b-unless"]);
    expect(await states()).toEqual({ "b-always": "running", "b-unless": "running", "b-none": "exited", "b-stopped": "exited" });
    expect((await w.husk(["exec", "b-unless", "true"])).code).toBe(0);
    // By hand, without a policy filter: every container that is not running.
    expect((await w.husk(["start", "--all"])).stdout.trim().split("\n").sort()).toEqual(["b-none", "b-stopped"]);
    expect((await w.husk(["start", "--all", "b-none"])).stderr).toContain("--all: no container names");
    expect((await w.husk(["start", "--filter", "name=b", "b-none"])).stderr).toContain("--filter: only with --all");
    await w.husk(["rm", "-f", "b-always", "b-unless", "b-none", "b-stopped"]);
  });

  test("update --restart gives a container a policy (and no takes it away)", async () => {
    expect(
      (await w.husk(["run", "-d", "--name", "later", "--network", "none", "busybox", "sh", "-c", "sleep 0.3; exit 2"])).code,
    ).toBe(0);
    expect((await w.husk(["update", "--restart", "on-failure:1", "later"])).code).toBe(0);
    expect((await inspect("later")).HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 1 });
    await until(
      async () => (await inspect("later")).RestartCount === 1 && (await inspect("later")).State.Status === "exited",
      10000,
      "one restart",
    );
    expect((await w.husk(["update", "--restart", "no", "later"])).code).toBe(0);
    expect((await inspect("later")).HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    const bad = await w.husk(["update", "--restart", "sometimes", "later"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--restart");
    await w.husk(["rm", "-f", "later"]);
  });

  test("a policy with --rm, or without -d, is refused and makes nothing", async () => {
    const rm = await w.husk(["run", "-d", "--rm", "--restart", "always", "busybox", "true"]);
    expect(rm.code).toBe(125);
    expect(rm.stderr).toContain("--restart: conflicting options");
    const fg = await w.husk(["run", "--restart", "on-failure", "busybox", "true"]);
    expect(fg.code).toBe(125);
    expect(fg.stderr).toContain("detached");
    expect((await w.engine.list({ all: true })).length).toBe(0);
  });
});
