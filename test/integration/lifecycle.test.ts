/**
 * The runc-compatible lifecycle as clients drive it: create → state → start → exec/ps/pause/
 * resume/update/events → kill → delete, plus console sockets, hooks order, and a create that
 * fails halfway leaving nothing behind.
 */
import { afterEach, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Hook } from "../../src/oci/types.ts";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle, type TestBundle } from "../fixtures/rootfs.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function bundle(args: string[], edit?: Parameters<typeof makeBundle>[1]): TestBundle {
  const b = makeBundle(args, edit);
  cleanups.push(() => b.remove());
  return b;
}

/** A fresh container id, deleted (under `root`) after the test whatever happens. */
function newId(root?: string): string {
  const id = nextId();
  cleanups.push(async () => {
    await husk(["delete", "--force", id], { root });
  });
  return id;
}

async function created(args: string[], edit?: Parameters<typeof makeBundle>[1]) {
  const b = bundle(args, edit);
  const id = newId();
  const c = await createContainer(b.dir, id);
  return { id, bundle: b, ...c };
}

/** Poll `check` until it holds or `ms` pass; returns whether it held. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}

/** The container's freezer: v1 freezer.state, or cgroup2's "frozen" flag in the same words. */
function freezerState(id: string): string {
  const v1 = `/sys/fs/cgroup/freezer/husk/${id}/freezer.state`;
  if (existsSync(v1)) return readFileSync(v1, "utf8").trim();
  return /^frozen 1$/m.test(readFileSync(`/sys/fs/cgroup/husk/${id}/cgroup.events`, "utf8")) ? "FROZEN" : "THAWED";
}

const status = async (id: string) => (JSON.parse((await husk(["state", id])).stdout) as { status: string }).status;

function cgroupDirs(id: string): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((h) => join("/sys/fs/cgroup", h, "husk", id))
    .filter((d) => existsSync(d));
}

describeAsRoot("lifecycle", () => {
  test("create, state, start, kill, delete", async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), "husk-pid-")), "pid");
    cleanups.push(() => rmSync(join(pidFile, ".."), { recursive: true, force: true }));
    const b = bundle(["sleep", "60"]);
    const id = newId();
    // The container keeps create's stdio, so create runs with none to wait on.
    const create = Bun.spawn([HUSK, "--root", TEST_ROOT, "create", "--bundle", b.dir, "--pid-file", pidFile, id], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    expect(await create.exited).toBe(0);
    const state = JSON.parse((await husk(["state", id])).stdout);
    expect(state).toMatchObject({ id, status: "created", bundle: b.dir, rootfs: join(b.dir, "rootfs"), owner: "" });
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(state.pid);
    // The start time kept to tell its pid from a reused one (the helper reads it: MSG_STARTED).
    const stat = readFileSync(`/proc/${state.pid}/stat`, "utf8");
    const saved = JSON.parse(readFileSync(join(TEST_ROOT, id, "state.json"), "utf8"));
    expect(saved.pidStartTime).toBe(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    expect((await husk(["start", id])).code).toBe(0);
    expect(await status(id)).toBe("running");
    const again = await husk(["start", id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("cannot start an already running container");
    const busy = await husk(["delete", id]);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toContain(`cannot delete container ${id} that is not stopped: running`);
    expect((await husk(["kill", id, "9"])).code).toBe(0);
    for (let i = 0; i < 100 && (await status(id)) !== "stopped"; i++) await Bun.sleep(20);
    expect(await status(id)).toBe("stopped");
    expect((await husk(["kill", id])).stderr).toContain("container not running");
    expect((await husk(["delete", id])).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
    expect((await husk(["state", id])).stderr).toContain("container does not exist");
  });

  test("start succeeds for a process that exits at once (its byte in exec.fifo counts)", async () => {
    const b = bundle(["true"]);
    for (let i = 0; i < 15; i++) {
      const id = newId();
      await createContainer(b.dir, id);
      const r = await husk(["start", id]);
      expect(`${r.code} ${r.stderr}`).toBe("0 ");
    }
  });

  test("list shows containers in table, json and quiet form", async () => {
    const c = await created(["sleep", "60"]);
    const json = JSON.parse((await husk(["list", "--format", "json"])).stdout) as { id: string; status: string; pid: number }[];
    expect(json.find((s) => s.id === c.id)).toMatchObject({ status: "created", pid: c.pid });
    expect((await husk(["list", "-q"])).stdout.split("\n")).toContain(c.id);
    expect((await husk(["list"])).stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
  });

  test("exec joins the container and passes the exit status through; ps lists both", async () => {
    const c = await created(["sleep", "60"]);
    await husk(["start", c.id]);
    const r = await husk(["exec", c.id, "sh", "-c", "echo $$; hostname; exit 7"]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("2\nrunc\n");
    const d = await husk(["exec", "--detach", c.id, "sh", "-c", "exec sleep 30 >/dev/null 2>&1"]);
    expect(d.code).toBe(0);
    const pids = JSON.parse((await husk(["ps", "--format", "json", c.id])).stdout) as number[];
    expect(pids).toContain(c.pid);
    expect(pids.length).toBe(2);
    const env = await husk([
      "exec",
      "-e",
      "FOO=bar",
      "--cwd",
      "/tmp",
      "-u",
      "65534:65534",
      c.id,
      "sh",
      "-c",
      "echo $FOO $(pwd) $(id -u):$(id -g)",
    ]);
    expect(env.stdout).toBe("bar /tmp 65534:65534\n");
  });

  test("the init and exec'd processes are in the container's cgroup in every hierarchy, v1 and v2", async () => {
    const c = await created(["sleep", "60"], (spec) => {
      spec.linux = {
        ...spec.linux,
        namespaces: [...(spec.linux?.namespaces ?? []).filter((n) => n.type !== "cgroup"), { type: "cgroup" }],
      };
    });
    await husk(["start", c.id]);
    const pidFile = join(c.bundle.dir, "exec.pid");
    expect(
      (await husk(["exec", "--detach", "--pid-file", pidFile, c.id, "sh", "-c", "exec sleep 30 >/dev/null 2>&1"])).code,
    ).toBe(0);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    for (const pid of [c.pid, execPid]) {
      // Read from the host, every line shows the full path: "4:memory:/husk/<id>", "0::/husk/<id>".
      const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
      expect(lines.length).toBeGreaterThan(1);
      for (const line of lines) expect(line).toEndWith(`:/husk/${c.id}`);
    }
    // Inside, the cgroup namespace makes the container's cgroup its root, for exec too.
    const inside = await husk(["exec", c.id, "cat", "/proc/self/cgroup"]);
    for (const line of inside.stdout.trim().split("\n")) expect(line).toMatch(/:\/$/);
  });

  const oneCpu = availableParallelism() < 2;
  test.skipIf(oneCpu)(
    `execCPUAffinity pins exec'd processes (after the cpuset join), never the init${oneCpu ? " (skipped: needs 2 CPUs)" : ""}`,
    async () => {
      const c = await created(["sleep", "60"], (spec) => {
        spec.process!.execCPUAffinity = { initial: "0", final: "1" };
      });
      await husk(["start", c.id]);
      const cpus = (pid: number | string) => `grep Cpus_allowed_list /proc/${pid}/status | cut -f2`;
      const init = await husk(["exec", c.id, "sh", "-c", cpus(1)]);
      const exec = await husk(["exec", c.id, "sh", "-c", cpus("self")]);
      expect(init.stdout).not.toBe("1\n");
      expect(exec.stdout).toBe("1\n");
    },
  );

  test("kill --all signals every process of the container", async () => {
    const c = await created(["sleep", "60"]);
    await husk(["start", c.id]);
    await husk(["exec", "--detach", c.id, "sh", "-c", "exec sleep 60 >/dev/null 2>&1"]);
    expect((await husk(["kill", "--all", c.id, "KILL"])).code).toBe(0);
    for (let i = 0; i < 100 && (await status(c.id)) !== "stopped"; i++) await Bun.sleep(20);
    expect(await status(c.id)).toBe("stopped");
  });

  test("pause and resume freeze the container", async () => {
    // A loop appending to a file in the rootfs: its size is the container's progress.
    const c = await created(["sh", "-c", "while :; do echo x >> /progress; done"], (spec) => {
      spec.root!.readonly = false;
    });
    const progress = () => statSync(join(c.bundle.rootfs, "progress"), { throwIfNoEntry: false })?.size ?? 0;
    await husk(["start", c.id]);
    expect(await until(() => progress() > 0)).toBe(true);
    expect((await husk(["pause", c.id])).code).toBe(0);
    expect(await status(c.id)).toBe("paused");
    expect(freezerState(c.id)).toBe("FROZEN");
    const paused = progress();
    await Bun.sleep(300);
    expect(progress()).toBe(paused);
    expect((await husk(["exec", c.id, "true"])).stderr).toContain("cannot exec in a paused container");
    expect((await husk(["resume", c.id])).code).toBe(0);
    expect(await status(c.id)).toBe("running");
    expect(freezerState(c.id)).toBe("THAWED");
    expect(await until(() => progress() > paused)).toBe(true);
    expect((await husk(["resume", c.id])).stderr).toContain("container not paused");
  });

  test("update changes limits and events --stats reports them", async () => {
    const c = await created(["sleep", "60"]);
    await husk(["start", c.id]);
    expect((await husk(["update", "--memory", "64m", "--pids-limit", "42", c.id])).code).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/pids/husk/${c.id}/pids.max`, "utf8").trim()).toBe("42");
    expect(readFileSync(`/sys/fs/cgroup/memory/husk/${c.id}/memory.limit_in_bytes`, "utf8").trim()).toBe(
      String(64 * 1024 * 1024),
    );
    const ev = JSON.parse((await husk(["events", "--stats", c.id])).stdout);
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe(c.id);
    expect(ev.data.pids.current).toBe(1);
    expect(ev.data.pids.limit).toBe(42);
    expect(ev.data.memory.usage.limit).toBe(64 * 1024 * 1024);
    const viaFile = await husk(["update", "-r", "-", c.id], { stdin: JSON.stringify({ pids: { limit: 17 } }) });
    expect(viaFile.code).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/pids/husk/${c.id}/pids.max`, "utf8").trim()).toBe("17");
  });

  test("hooks run in order, each in its namespace, with the state on stdin", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-hooks-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "log");
    const script = join(dir, "hook.sh");
    // Each line: kind, the hostname the hook sees (the container's is "runc"), the state.
    const line = 'read -r state; echo "$1 $(cat /proc/sys/kernel/hostname) $state" >>';
    writeFileSync(script, `#!/bin/sh\n${line} ${log}\n`, { mode: 0o755 });
    const onHost = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] as const;
    const b = bundle(["true"], (s) => {
      s.hooks = Object.fromEntries(onHost.map((k) => [k, [{ path: script, args: ["hook.sh", k] }]]));
      // startContainer runs after the root switch: its path resolves inside the container.
      s.hooks.startContainer = [{ path: "/bin/sh", args: ["sh", "-c", `${line} /hooklog/log`, "sh", "startContainer"] }];
      s.mounts = [...(s.mounts ?? []), { destination: "/hooklog", type: "bind", source: dir, options: ["rbind", "rw"] }];
    });
    const id = newId();
    expect((await husk(["run", "--bundle", b.dir, id])).code).toBe(0);
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => {
        const [kind, hostname, ...state] = l.split(" ");
        return { kind, hostname, state: JSON.parse(state.join(" ")) };
      });
    expect(entries.map((e) => e.kind)).toEqual([
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
      "poststop",
    ]);
    const host = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
    expect(entries.map((e) => e.hostname)).toEqual([host, host, "runc", "runc", host, host]);
    expect(entries[0]?.state).toMatchObject({ id, status: "created", bundle: b.dir });
    // Every hook before start sees the container's pid as the host sees it.
    const pid = entries[0]?.state.pid;
    expect(pid).toBeGreaterThan(1);
    expect(entries.slice(0, 4).map((e) => e.state.pid)).toEqual([pid, pid, pid, pid]);
  });

  test("a failing or slow startContainer hook fails run with the hook named", async () => {
    const cases: [Hook, string][] = [
      [{ path: "/bin/sh", args: ["sh", "-c", "exit 3"] }, "exit status 3"],
      [{ path: "/bin/sh", args: ["sh", "-c", "kill -9 $$"] }, "killed by signal 9"],
      [{ path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }, "timed out after 1s"],
    ];
    for (const [hook, message] of cases) {
      const b = bundle(["true"], (s) => {
        s.hooks = { startContainer: [hook] };
      });
      const id = newId();
      const r = await husk(["run", "--bundle", b.dir, id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`error running hook "${hook.path}" (hooks.startContainer[0]): ${message}`);
      expect(existsSync(join(TEST_ROOT, id))).toBe(false);
      expect(cgroupDirs(id)).toEqual([]);
    }
  });

  test("SCMP_ACT_NOTIFY: the listener goes to the agent at listenerPath, from the init and from exec", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-agent-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, "agent.sock");
    const log = join(dir, "agent.log");
    const agent = Bun.spawn(["python3", join(import.meta.dir, "../fixtures/seccomp-agent.py"), socket, log], {
      stdout: "pipe",
      stderr: "inherit",
    });
    cleanups.push(() => {
      agent.kill("SIGKILL");
    });
    const reader = agent.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
    const c = await created(["sleep", "60"], (spec) => {
      spec.linux = {
        ...spec.linux,
        seccomp: {
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: socket,
          listenerMetadata: "meta",
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        },
      };
    });
    await husk(["start", c.id]);
    // The agent answers mkdir with success without running it: the read-only root stays empty.
    const r = await husk(["exec", c.id, "sh", "-c", "mkdir /x && echo made; ls -d /x 2>/dev/null || echo absent"]);
    expect(r.stdout).toBe("made\nabsent\n");
    const [init, exec] = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(init).toEqual({
      ociVersion: c.bundle.spec.ociVersion,
      fds: ["seccompFd"],
      pid: c.pid,
      metadata: "meta",
      state: { ociVersion: c.bundle.spec.ociVersion, id: c.id, status: "creating", pid: c.pid, bundle: c.bundle.dir },
    });
    expect(exec.state).toMatchObject({ id: c.id, status: "running", pid: c.pid });
    expect(exec.pid).toBeGreaterThan(0);
    expect(exec.pid).not.toBe(c.pid);
  });

  test("a seccomp profile is compiled once per build and the cached filter still blocks", async () => {
    // A --root of its own: the cache starts empty whatever ran before.
    const root = mkdtempSync(join(tmpdir(), "husk-root-"));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW" as const,
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" as const, errnoRet: 28 }],
    };
    const cache = join(root, "@seccomp");
    const entries: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const b = bundle(["sh", "-c", "mkdir /tmp/x; true"], (spec) => {
        spec.linux = { ...spec.linux, seccomp: profile };
        spec.mounts = [...(spec.mounts ?? []), { destination: "/tmp", type: "tmpfs", source: "tmpfs" }];
      });
      const r = await husk(["run", "--bundle", b.dir, newId(root)], { root });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("mkdir: can't create directory '/tmp/x': No space left on device\n");
      entries.push(readdirSync(cache).sort());
    }
    // bin/husk is the built CLI: one entry for the profile, reused by the second run.
    expect(entries[0]).toHaveLength(1);
    expect(entries[1]).toEqual(entries[0]!);
  });

  test("a failing createRuntime hook fails create and leaves nothing behind", async () => {
    const b = bundle(["true"], (s) => {
      s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "echo nope >&2; exit 3"] }] };
    });
    const id = newId();
    const before = readFileSync("/proc/self/mountinfo", "utf8");
    const r = await husk(["create", "--bundle", b.dir, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error running hook "/bin/sh" (hooks.createRuntime[0]): exit status 3: nope');
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(before);
  });

  test("a create killed halfway is cleaned up by delete --force", async () => {
    const marker = join(mkdtempSync(join(tmpdir(), "husk-marker-")), "at-hook");
    cleanups.push(() => rmSync(join(marker, ".."), { recursive: true, force: true }));
    const b = bundle(["true"], (s) => {
      s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `touch ${marker}; exec sleep 2`] }] };
    });
    const id = newId();
    const create = Bun.spawn([HUSK, "--root", TEST_ROOT, "create", "--bundle", b.dir, id], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    // create is now blocked in the hook, with the container process waiting and the cgroup made.
    for (let i = 0; i < 500 && !existsSync(marker); i++) await Bun.sleep(10);
    expect(existsSync(marker)).toBe(true);
    create.kill("SIGKILL");
    await create.exited;
    expect(existsSync(join(TEST_ROOT, id))).toBe(true);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    expect((await husk(["delete", "--force", id])).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
  });

  test("a terminal goes over the console socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-console-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sock = join(dir, "console.sock");
    const receiver = spawn("python3", [join(import.meta.dir, "../fixtures/console-receiver.py"), sock], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Listen for the exit now: the receiver may be done before the run returns.
    const exited = new Promise((resolve) => receiver.on("exit", resolve));
    cleanups.push(() => {
      receiver.kill("SIGKILL");
    });
    let out = "";
    receiver.stdout.on("data", (d) => {
      out += d;
    });
    for (let i = 0; i < 500 && !out.includes("listening"); i++) await Bun.sleep(10);
    const b = bundle(["sh", "-c", "tty; stty size"], (s) => {
      if (s.process) {
        s.process.terminal = true;
        s.process.consoleSize = { height: 33, width: 120 };
      }
    });
    const id = newId();
    const r = await husk(["run", "--console-socket", sock, "--bundle", b.dir, id]);
    expect(r.code).toBe(0);
    await exited;
    expect(out).toContain("/dev/pts/0");
    expect(out).toContain("33 120");
  });

  test("containers made and removed in parallel share husk's default parent cgroup safely", async () => {
    const b = bundle(["true"]);
    const runs = Array.from({ length: 10 }, () => husk(["run", "--bundle", b.dir, newId()]));
    const results = await Promise.all(runs);
    expect(results.map((r) => `${r.code} ${r.stderr}`)).toEqual(results.map(() => "0 "));
  });

  test("Go-style global flags and JSON error logs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-log-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "log.json");
    const r = await husk(["-log", log, "--log-format=json", "--debug=false", "state", "no-such-container"]);
    expect(r.code).not.toBe(0);
    const entry = JSON.parse(readFileSync(log, "utf8").trim());
    expect(entry).toMatchObject({ level: "error", msg: "container does not exist" });
    expect(typeof entry.time).toBe("string");
  });

  test("delete --force of a missing container succeeds", async () => {
    expect((await husk(["delete", "--force", "never-existed"])).code).toBe(0);
  });
});
