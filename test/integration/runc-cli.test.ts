/**
 * Where husk-runtime's command line meets runc's as tools and runc's own bats suite use it:
 * help and version shapes, exec's 255 and its --ignore-paused and --cgroup, kill -a of a
 * stopped container, ps after it stopped, flags after the id, --debug and --log, events and
 * OOM kills, --no-pivot, and procfs refused on a symlink.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContainer, nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

type Edit = Parameters<typeof makeBundle>[1];

/** A container running `args`, started; deleted after the test whatever happens. */
async function running(args: string[] = ["sleep", "1000"], edit?: Edit) {
  const b = makeBundle(args, edit);
  const id = nextId();
  cleanups.push(() => b.remove());
  cleanups.push(async () => {
    await husk(["delete", "--force", id]);
  });
  const c = await createContainer(b.dir, id);
  expect((await husk(["start", id])).code).toBe(0);
  return { id, pid: c.pid, bundle: b };
}

async function untilStopped(id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const st = JSON.parse((await husk(["state", id])).stdout) as { status: string };
    if (st.status === "stopped") return;
    await Bun.sleep(10);
  }
  throw new Error(`${id} did not stop`);
}

/** husk-runtime started under another name, as a drop-in `runc` link is. */
function linkedAs(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "husk-link-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(HUSK, join(dir, name));
  return join(dir, name);
}

function runAs(bin: string, args: string[]) {
  const r = Bun.spawnSync([bin, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("help in runc's layout under the name it was started as; help VERB, VERB -h, an unknown topic", async () => {
  const top = await husk(["-h"]);
  expect(top.code).toBe(0);
  expect(top.stdout.split("\n").slice(0, 2)).toEqual([
    "NAME:",
    expect.stringContaining("husk-runtime - Open Container Initiative runtime"),
  ]);
  const list = await husk(["list", "--help"]);
  expect(list.stdout.split("\n").slice(0, 2)).toEqual(["NAME:", expect.stringContaining("husk-runtime list - ")]);
  expect((await husk(["help", "kill"])).stdout).toContain("husk-runtime kill - ");
  for (const args of [
    ["help", "foo"],
    ["foo", "-h"],
  ]) {
    const r = await husk(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("No help topic for 'foo'");
  }
  const runc = linkedAs("runc");
  expect(runAs(runc, ["--help"]).stdout.split("\n")[1]).toContain("runc - Open Container Initiative runtime");
  const v = runAs(runc, ["-v"]).stdout.split("\n");
  expect(v[0]).toMatch(/^runc version \d+\.\d+\.\d+/);
  expect(v[1]).toMatch(/^commit: /);
  expect(v[2]).toMatch(/^spec: \d+\.\d+\.\d+/);
  for (const verb of ["checkpoint", "restore"]) {
    expect((await husk([verb, "-h"])).stdout.split("\n")[1]).toContain(`husk-runtime ${verb} - `);
    const r = await husk([verb, "some-id"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${verb} is not supported`);
  }
});

describeAsRoot("runc's CLI on containers", () => {
  test("exec fails with 255 (runc's), and a pid file it cannot write leaves no process running", async () => {
    const { id } = await running();
    expect((await husk(["exec", "no-such-container", "true"])).code).toBe(255);
    expect((await husk(["exec", id, "no-such-binary"])).code).toBe(255);
    expect((await husk(["exec", id, "sh", "-c", "exit 42"])).code).toBe(42);
    const r = await husk(["exec", "-d", "--pid-file", "/non-existent/directory/pid", id, "sleep", "77"]);
    expect(r.code).toBe(255);
    const ps = await husk(["ps", id, "-o", "pid,args"]);
    expect(ps.stdout).not.toContain("sleep 77");
  });

  test("exec into a paused container: refused with 255, or with --ignore-paused it runs once resumed", async () => {
    const { id } = await running();
    expect((await husk(["pause", id])).code).toBe(0);
    const refused = await husk(["exec", id, "echo", "ok"]);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain("cannot exec in a paused container");
    const resume = Bun.sleep(500).then(() => husk(["resume", id]));
    const r = await husk(["exec", "--ignore-paused", id, "echo", "ok"]);
    expect((await resume).code).toBe(0);
    expect(r).toMatchObject({ code: 0, stdout: "ok\n" });
  });

  test("exec --cgroup: a sub-cgroup per controller, checked: no .., no missing one, no unknown controller", async () => {
    const { id } = await running();
    const memory = `/sys/fs/cgroup/memory/husk/${id}`;
    if (!existsSync(memory)) return; // cgroup v1's memory hierarchy only
    for (const [flag, message] of [
      ["..", ".. is not a sub cgroup path"],
      ["nonexistent", "/nonexistent/cgroup.procs: no such file"],
      ["whaaat:/", 'unknown controller "whaaat"'],
    ]) {
      const r = await husk(["exec", "--cgroup", flag as string, id, "true"]);
      expect(r.code).toBe(255);
      expect(r.stderr).toContain(message as string);
    }
    mkdirSync(`${memory}/sub`);
    try {
      const r = await husk(["exec", "--cgroup", "memory:sub", id, "cat", "/proc/self/cgroup"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`:memory:.*/${id}/sub$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`:pids:.*/${id}$`, "m"));
    } finally {
      for (let i = 0; i < 100 && readFileSync(`${memory}/sub/cgroup.procs`, "utf8").trim(); i++) await Bun.sleep(10);
      rmdirSync(`${memory}/sub`);
    }
  });

  test("kill -a of a stopped container and signal 0 succeed; ps after it stopped prints the header; update takes flags after the id", async () => {
    const { id } = await running();
    expect((await husk(["kill", id, "0"])).code).toBe(0);
    expect((await husk(["update", id, "--pids-limit", "123"])).code).toBe(0);
    const pidsMax = `/sys/fs/cgroup/pids/husk/${id}/pids.max`;
    if (existsSync(pidsMax)) expect(readFileSync(pidsMax, "utf8").trim()).toBe("123");
    expect((await husk(["kill", id, "KILL"])).code).toBe(0);
    await untilStopped(id);
    expect((await husk(["kill", "-a", id, "0"])).code).toBe(0);
    expect((await husk(["kill", id, "0"])).code).not.toBe(0);
    const ps = await husk(["ps", id]);
    expect(ps.code).toBe(0);
    expect(ps.stdout.trim().split("\n")).toHaveLength(1);
    expect(ps.stdout).toContain("PID");
  });

  test("--debug: stage lines on stderr, or only in the --log file (text or JSON)", async () => {
    const b = makeBundle(["true"]);
    cleanups.push(() => b.remove());
    const plain = await husk(["--debug", "run", "--bundle", b.dir, nextId()]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain("level=debug");
    expect(plain.stderr).toContain("nsexec container setup");
    const dir = mkdtempSync(join(tmpdir(), "husk-log-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "log.json");
    const logged = await husk(["--log", log, "--log-format", "json", "--debug", "run", "--bundle", b.dir, nextId()]);
    expect(logged.code).toBe(0);
    expect(logged.stderr).not.toContain("debug");
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.every((l) => l.level === "debug")).toBe(true);
    expect(lines.map((l) => l.msg).join("\n")).toContain("init: closing the pipe to signal completion");
  });

  test("events reports an OOM kill and ends when the container is deleted", async () => {
    const { id } = await running(["sleep", "1000"], (spec) => {
      spec.linux = { ...spec.linux, resources: { memory: { limit: 33554432, swap: 33554432 } } };
    });
    const events = Bun.spawn([HUSK, "--root", TEST_ROOT, "events", "--interval", "200ms", id], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = new Response(events.stdout).text();
    await Bun.sleep(300);
    await husk(["exec", id, "sh", "-c", "x=$(dd if=/dev/zero bs=64M count=1)"]);
    await Bun.sleep(300);
    expect((await husk(["delete", "--force", id])).code).toBe(0);
    const timer = setTimeout(() => events.kill("SIGKILL"), 5000);
    const code = await events.exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    const lines = (await out).trim().split("\n");
    expect(lines).toContain(JSON.stringify({ type: "oom", id }));
    expect(lines.some((l) => l.startsWith('{"type":"stats"'))).toBe(true);
  });

  test("--no-pivot: a user namespace inside cannot mount a procfs (the host's is not left visible)", async () => {
    const b = makeBundle(["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"], (spec) => {
      const caps = spec.process?.capabilities;
      if (caps)
        for (const set of ["bounding", "permitted", "effective"] as const) caps[set] = [...(caps[set] ?? []), "CAP_SETFCAP"];
    });
    cleanups.push(() => b.remove());
    const r = await husk(["run", "--no-pivot", "--bundle", b.dir, nextId()]);
    expect(r.stdout).not.toContain("mounted");
    expect(r.stderr).toContain("mount: permission denied");
  });

  test("procfs and sysfs are refused on a symlink in the rootfs", async () => {
    for (const dir of ["proc", "sys"]) {
      const b = makeBundle(["true"], (_spec, rootfs) => {
        rmSync(join(rootfs, dir), { recursive: true, force: true });
        symlinkSync("/elsewhere", join(rootfs, dir));
      });
      cleanups.push(() => b.remove());
      const r = await husk(["run", "--bundle", b.dir, nextId()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("must be mounted on ordinary directory");
    }
  });
});
