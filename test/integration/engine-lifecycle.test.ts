/**
 * A container's life after it is made (`husk create`, `start [-a]`, `restart`, `run -dt`): a
 * created container exists but does not run; start runs it again with the same id, name,
 * writable layer, volume and /etc files, and a new network lease; restart is stop + start; a
 * detached terminal is a pty the monitor logs; a failed or killed start leaves nothing that
 * `rm -f` cannot take.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, engineWorld, HUSK_ENGINE, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine lifecycle", () => {
  let w: EngineWorld;
  let net: { name: string; bridge: string; subnet: string };
  beforeAll(async () => {
    w = engineWorld();
    net = await w.network("l");
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const vethsOf = (ref: string) => w.engine.record(ref).networks.map((n) => n.hostVeth);

  test("create makes a container that does not run; start -a runs it and exits with its status", async () => {
    const c = await w.husk([
      "create",
      "--name",
      "c1",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    expect(c.code).toBe(0);
    const id = c.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const info = await w.engine.inspect("c1");
    expect(info.State.Status).toBe("created");
    expect(info.State.Pid).toBe(0);
    expect(info.State.StartedAt).toBe("0001-01-01T00:00:00Z");
    expect(existsSync(join(w.dataRoot, "containers", id, "upper"))).toBe(true);
    expect(w.leftovers(id)).toEqual(["record"]); // no runtime state, cgroup or mount before start
    expect((await w.husk(["ps", "-a"])).stdout).toMatch(/Created\s+c1/);
    expect((await w.husk(["ps", "-q"])).stdout).toBe("");
    // stop of a container that never ran leaves it created (docker).
    expect((await w.husk(["stop", "c1"])).code).toBe(0);
    expect((await w.engine.inspect("c1")).State.Status).toBe("created");
    const s = await w.husk(["start", "-a", "c1"]);
    expect(s).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const after = await w.engine.inspect("c1");
    expect(after.Id).toBe(id);
    expect(after.State.Status).toBe("exited");
    expect(after.State.ExitCode).toBe(3);
    expect(Date.parse(after.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(after.State.StartedAt));
    expect(w.leftovers(id)).toEqual(["record"]);
    expect((await w.husk(["rm", "c1"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
  });

  test("an exited container starts again with its writes, volume, hostname and /etc files; the network is attached anew", async () => {
    const script =
      'n=$(cat /count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /count; echo $n >> /vol/runs; echo "run $n $(hostname) $(cat /vol/runs | wc -l)"; ip -4 -o addr show eth0 | grep -c inet';
    const c = await w.husk([
      "create",
      "--name",
      "again",
      "--network",
      net.name,
      "-v",
      `vol${w.id}:/vol`,
      "busybox",
      "sh",
      "-c",
      script,
    ]);
    expect(c.code).toBe(0);
    const id = c.stdout.trim();
    const host = id.slice(0, 12);
    const first = await w.husk(["start", "-a", "again"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`run 1 ${host} 1\n1\n`);
    const veths1 = vethsOf("again");
    expect(veths1).toHaveLength(1);
    // Exited: the veth and lease are released (the record keeps the attachment's last address).
    expect(w.leftovers(id, veths1)).toEqual(["record"]);
    const hosts = readFileSync(join(w.dataRoot, "containers", id, "etc/hosts"), "utf8");
    // Detached this time. The log has both runs: start -a attaches to the monitor that logs (docker's too).
    expect((await w.husk(["start", "again"])).stdout).toBe("again\n");
    expect((await w.husk(["wait", "again"])).stdout).toBe("0\n");
    expect((await w.husk(["logs", "again"])).stdout).toBe(`run 1 ${host} 1\n1\nrun 2 ${host} 2\n1\n`);
    const info = await w.engine.inspect("again");
    expect(info.Id).toBe(id);
    expect(info.Name).toBe("/again");
    expect(info.Mounts.map((m) => m.Name)).toEqual([`vol${w.id}`]);
    // The hosts file is the same file, rewritten with this run's address.
    expect(readFileSync(join(w.dataRoot, "containers", id, "etc/hosts"), "utf8")).toContain(host);
    expect(hosts).toContain(host);
    await until(() => w.leftovers(id, vethsOf("again")).length === 1, 5000, "release after the second run");
    expect(w.leftovers(id, [...veths1, ...vethsOf("again")])).toEqual(["record"]);
    expect((await w.husk(["rm", "again"])).code).toBe(0);
    expect(w.leftovers(id, veths1)).toEqual([]);
    await w.husk(["volume", "rm", `vol${w.id}`]);
  });

  test("restart: stop then start; new pid and StartedAt, same id, previous FinishedAt kept, RestartCount 0 (docker)", async () => {
    const r = await w.husk(["run", "-d", "--name", "rs", "--network", net.name, "busybox", "sh", "-c", "echo up; exec sleep 60"]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const before = await w.engine.inspect("rs");
    const veth1 = vethsOf("rs");
    // start of a running container: nothing happens, docker prints the name.
    const again = await w.husk(["start", "rs"]);
    expect(again).toEqual({ code: 0, stdout: "rs\n", stderr: "" });
    expect((await w.engine.inspect("rs")).State.Pid).toBe(before.State.Pid);
    const t0 = Date.now();
    const re = await w.husk(["restart", "-t", "1", "rs"]);
    expect(re).toEqual({ code: 0, stdout: "rs\n", stderr: "" });
    expect(Date.now() - t0).toBeLessThan(6000);
    const after = await w.engine.inspect("rs");
    expect(after.Id).toBe(id);
    expect(after.State.Status).toBe("running");
    expect(after.State.Pid).not.toBe(before.State.Pid);
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    expect(Date.parse(after.State.FinishedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    expect(after.State.ExitCode).toBe(0);
    expect(after.RestartCount).toBe(0);
    expect(after.NetworkSettings.Networks[net.name]!.IPAddress).toMatch(/^10\./);
    // The old veth is gone, the new one is there.
    const veth2 = vethsOf("rs");
    expect(veth1.every((v) => !existsSync(`/sys/class/net/${v}`) || veth2.includes(v))).toBe(true);
    expect(veth2.every((v) => existsSync(`/sys/class/net/${v}`))).toBe(true);
    await until(async () => (await w.husk(["logs", "rs"])).stdout === "up\nup\n", 3000, "both runs in the log");
    // The library: a handle's restart gives the new pid.
    const box = w.engine.container("rs");
    const next = await box.restart({ timeoutMs: 500 });
    expect(next.pid).not.toBe(after.State.Pid);
    expect(next.pid).toBe((await w.engine.inspect("rs")).State.Pid);
    expect((await w.husk(["rm", "-f", "rs"])).code).toBe(0);
    expect(w.leftovers(id, [...veth1, ...veth2])).toEqual([]);
  });

  test("run -dt and create -t + start: the container has a terminal (24x80), the monitor logs what it writes", async () => {
    const cmd = ["sh", "-c", "test -t 0 && echo in-tty; test -t 1 && echo out-tty; stty size; echo $TERM; exec sleep 60"];
    const r = await w.husk(["run", "-dt", "--name", "dt", "--network", "none", "busybox", ...cmd]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const want = "in-tty\r\nout-tty\r\n24 80\r\nxterm\r\n";
    await until(async () => (await w.husk(["logs", "dt"])).stdout === want, 5000, "the tty's output in the log");
    const info = await w.engine.inspect("dt");
    expect(info.Config.Tty).toBe(true);
    // The init's stdio is the pty, whose master only the monitor holds.
    const e = await w.husk(["exec", "dt", "sh", "-c", "for f in 0 1 2; do readlink /proc/1/fd/$f; done"]);
    expect(e.stdout).toBe("/dev/pts/0\n/dev/pts/0\n/dev/pts/0\n");
    expect((await w.husk(["rm", "-f", "dt"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
    // A control: without -t the same command sees no terminal.
    const plain = await w.husk(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "test -t 0 || echo no-tty"]);
    expect(plain.stdout).toBe("no-tty\n");
    const c = (await w.husk(["create", "-t", "--name", "ct", "--network", "none", "busybox", ...cmd])).stdout.trim();
    expect((await w.husk(["start", "ct"])).code).toBe(0);
    await until(async () => (await w.husk(["logs", "ct"])).stdout === want, 5000, "create -t's output in the log");
    expect((await w.husk(["rm", "-f", "ct"])).code).toBe(0);
    expect(w.leftovers(c)).toEqual([]);
    // One that ends by itself: its status through the monitor, the pty's last output logged.
    const x = (await w.husk(["run", "-dt", "--network", "none", "busybox", "sh", "-c", "echo bye; exit 5"])).stdout.trim();
    expect((await w.husk(["wait", x])).stdout).toBe("5\n");
    expect((await w.husk(["logs", x])).stdout).toBe("bye\r\n");
    expect((await w.husk(["rm", x])).code).toBe(0);
  });

  test("start -a of a detached container that runs: its output from then on and its exit status", async () => {
    const id = (
      await w.husk(["run", "-d", "--network", "none", "busybox", "sh", "-c", "echo early; sleep 1; echo late; exit 6"])
    ).stdout.trim();
    await until(async () => (await w.husk(["logs", id])).stdout === "early\n", 3000, "early");
    expect(await w.husk(["start", "-a", id])).toEqual({ code: 6, stdout: "late\n", stderr: "" });
    expect((await w.husk(["rm", id])).code).toBe(0);
  });

  test("--rm: a created container is removed when it exits; starting it again is No such container", async () => {
    const id = (
      await w.husk(["create", "--rm", "--name", "gone", "--network", "none", "busybox", "sh", "-c", "exit 4"])
    ).stdout.trim();
    expect((await w.engine.inspect("gone")).State.Status).toBe("created");
    expect((await w.husk(["start", "-a", "gone"])).code).toBe(4);
    expect(w.leftovers(id)).toEqual([]);
    const s = await w.husk(["start", "gone"]);
    expect(s.code).toBe(1);
    expect(s.stderr).toBe("husk: no such container: gone\n");
    // Detached: the monitor's cleanup removes it.
    const d = (await w.husk(["create", "--rm", "--network", "none", "busybox", "true"])).stdout.trim();
    expect((await w.husk(["start", d])).code).toBe(0);
    await until(() => w.leftovers(d).length === 0, 5000, `--rm after a detached start (${w.leftovers(d)})`);
  });

  test("a start that fails leaves the container exited with the error and nothing else; start -a exits 127", async () => {
    const c = await w.husk(["create", "--name", "bad", "--network", net.name, "busybox", "/no/such/command"]);
    expect(c.code).toBe(0);
    const id = c.stdout.trim();
    const s = await w.husk(["start", "bad"]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("/no/such/command");
    const info = await w.engine.inspect("bad");
    expect(info.State.Status).toBe("exited");
    expect(info.State.ExitCode).toBe(127);
    expect(info.State.Error).toContain("/no/such/command");
    const veths = vethsOf("bad");
    expect(w.leftovers(id, veths)).toEqual(["record"]);
    const a = await w.husk(["start", "-a", "bad"]);
    expect(a.code).toBe(127);
    expect(w.leftovers(id, [...veths, ...vethsOf("bad")])).toEqual(["record"]);
    expect((await w.husk(["rm", "bad"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
    // Bad arguments: one clear error, nothing made.
    const n = (await w.engine.list({ all: true })).length;
    const bad = await w.husk(["create", "--memory", "lots", "busybox"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^husk: --memory: invalid size "lots"/);
    expect((await w.engine.list({ all: true })).length).toBe(n);
    expect((await w.husk(["start", "-a", "x", "y"])).stderr).toContain("cannot start and attach multiple");
    await expect(w.engine.create("busybox", [], { tty: "yes" as never })).rejects.toThrow("RunOptions.tty: must be a boolean");
  });

  test("SIGKILL of the CLI during start leaves what rm -f removes", async () => {
    for (const [delay, how] of [
      [30, "-a"],
      [120, "-a"],
      [400, "-a"],
      [60, "-d"],
      [150, "-d"],
    ] as const) {
      const id = (await w.husk(["create", "--network", net.name, "busybox", "sleep", "30"])).stdout.trim();
      const args = how === "-a" ? ["start", "-a", id] : ["start", id];
      const proc = Bun.spawn([HUSK_ENGINE, ...args], { env: w.env, stdio: ["ignore", "ignore", "ignore"] });
      await Bun.sleep(delay);
      proc.kill("SIGKILL");
      await proc.exited;
      const veths = vethsOf(id);
      expect((await w.husk(["rm", "-f", id])).code).toBe(0);
      expect(w.leftovers(id, veths)).toEqual([]);
    }
  });

  test("the library: Engine.create, Container.start (detached and attached), restart", async () => {
    const box = await w.engine.create("busybox", ["sh", "-c", "echo hi > /f; cat /f; exit 2"], { network: "none", name: "lib" });
    expect(box.pid).toBe(0);
    expect((await box.inspect()).State.Status).toBe("created");
    const r = await box.start({ attach: true });
    expect(r).toMatchObject({ exitCode: 2, stdout: "hi\n", stderr: "" });
    const running = await w.engine.startContainer("lib");
    expect((await running.wait()).exitCode).toBe(2);
    const logs: string[] = [];
    for await (const e of running.logs()) logs.push(e.log);
    expect(logs).toEqual(["hi\n"]);
    await box.remove();
    expect(w.leftovers(box.id)).toEqual([]);
    await expect(w.engine.startContainer("lib")).rejects.toThrow("no such container: lib");
  });
});
