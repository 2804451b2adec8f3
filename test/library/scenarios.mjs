/**
 * The library's behaviour, written once and run by both test runners: bun test
 * (runtime.bun.test.ts) and node --test (runtime.node.mjs), against the built package
 * (dist/lib), as a service on either runtime would load it. Each scenario makes its own
 * busybox bundle and state root and removes them whatever happens.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import {
  AbortError,
  ConfigError,
  ConflictError,
  defaultSpec,
  Engine,
  HuskError,
  NotFoundError,
  Runtime,
  TimeoutError,
} from "../../dist/lib/index.js";

const APPLETS = ["sh", "true", "false", "sleep", "echo", "cat", "id", "hostname", "ls"];

/** A busybox rootfs in a temp dir and a spec for it (the runtime's own default, no terminal). */
export function makeBundle() {
  const dir = mkdtempSync(join(tmpdir(), "husk-lib-"));
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("busybox", join(rootfs, "bin", a));
  const spec = defaultSpec({ args: ["sh"] });
  spec.process.terminal = false;
  return { dir, rootfs, spec, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function withSpec(base, args, edit) {
  const spec = structuredClone(base);
  spec.process.args = args;
  edit?.(spec);
  return spec;
}

/** A runtime over a state root of its own; `done` deletes what is left and removes the root. */
export function makeRuntime(extra = {}) {
  const root = mkdtempSync(join("/run", "husk-lib-"));
  const rt = new Runtime({ root, ...extra });
  return {
    rt,
    async done() {
      for (const c of await rt.list()) await rt.delete(c.id, { force: true });
      await rt.idle();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** An engine over data and state roots of its own, with no bridge network; `done` removes it all. */
export function makeEngine() {
  const dataRoot = mkdtempSync(join(tmpdir(), "husk-lib-engine-"));
  const stateRoot = mkdtempSync(join("/run", "husk-lib-engine-"));
  const engine = new Engine({ dataRoot, stateRoot, nftTable: "husk_lib_test", ipForward: false });
  return {
    engine,
    dataRoot,
    stateRoot,
    async done() {
      for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
      await engine.idle(); // the background deletions, before the whole data root goes
      rmSync(dataRoot, { recursive: true, force: true });
      rmSync(stateRoot, { recursive: true, force: true });
    },
  };
}

/** name → async (assert) => void; assert has equal(a, b), ok(v), rejects(promise, re). */
export const scenarios = {
  async "run resolves with the exit status, from a spec in memory"(assert) {
    const b = makeBundle();
    const { rt, done } = makeRuntime();
    try {
      assert.equal(await rt.run("r0", { spec: withSpec(b.spec, ["true"]), dir: b.dir }), 0);
      assert.equal(await rt.run("r1", { spec: withSpec(b.spec, ["sh", "-c", "exit 7"]), dir: b.dir }), 7);
      assert.equal((await rt.list()).length, 0);
    } finally {
      await done();
      b.remove();
    }
  },

  async "loopbackUp: the container's new network namespace has lo up, set from inside"(assert) {
    const b = makeBundle();
    const { rt, done } = makeRuntime();
    try {
      // IFF_UP|IFF_LOOPBACK is 0x9; a new namespace's lo is down (0x8) until someone sets it up.
      const check = withSpec(b.spec, ["sh", "-c", 'read f < /sys/class/net/lo/flags; [ "$f" = 0x9 ]']);
      assert.ok(
        check.linux.namespaces.some((ns) => ns.type === "network" && !ns.path),
        "a new network namespace",
      );
      assert.equal(await rt.run("lo0", { spec: check, dir: b.dir }), 1);
      assert.equal(await rt.run("lo1", { spec: check, dir: b.dir }, { loopbackUp: true }), 0);
    } finally {
      await done();
      b.remove();
    }
  },

  async "create, start, state, exec, kill, delete"(assert) {
    const b = makeBundle();
    const { rt, done } = makeRuntime();
    try {
      const c = await rt.create("l0", { spec: withSpec(b.spec, ["sleep", "60"]), dir: b.dir });
      assert.equal(c.status, "created");
      assert.ok(c.pid > 0);
      await rt.start("l0");
      assert.equal((await rt.state("l0")).status, "running");
      assert.equal(await rt.exec("l0", ["sh", "-c", "exit 3"]), 3);
      await rt.kill("l0", "SIGKILL");
      for (let i = 0; i < 200 && (await rt.state("l0")).status !== "stopped"; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await rt.state("l0")).status, "stopped");
      await rt.delete("l0");
      await assert.rejects(rt.state("l0"), /container does not exist/);
    } finally {
      await done();
      b.remove();
    }
  },

  async "errors are HuskErrors that name what is wrong, and leave nothing behind"(assert) {
    const b = makeBundle();
    const { rt, done } = makeRuntime();
    try {
      const bad = withSpec(b.spec, ["true"], (s) => {
        s.process.user.uid = "root";
      });
      const err = await rt.create("e0", { spec: bad, dir: b.dir }).catch((e) => e);
      assert.ok(err instanceof ConfigError && err instanceof HuskError, String(err));
      assert.equal(err.path, "process.user.uid");
      assert.equal((await rt.list()).length, 0);
      await rt.create("e1", { spec: withSpec(b.spec, ["sleep", "60"]), dir: b.dir });
      const dup = await rt.create("e1", { spec: withSpec(b.spec, ["true"]), dir: b.dir }).catch((e) => e);
      assert.ok(dup instanceof ConflictError && /exists/.test(dup.message), String(dup));
      const missing = await rt.start("nope").catch((e) => e);
      assert.ok(missing instanceof NotFoundError, String(missing));
      const wrongType = await rt.state(42).catch((e) => e);
      assert.ok(wrongType instanceof ConfigError && wrongType.path === "id", String(wrongType));
    } finally {
      await done();
      b.remove();
    }
  },

  async "four containers in flight at once, and the event loop keeps running"(assert) {
    const b = makeBundle();
    const { rt, done } = makeRuntime();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const runs = await Promise.all(
        [0, 1, 2, 3].map((i) => rt.run(`p${i}`, { spec: withSpec(b.spec, ["sh", "-c", `sleep 0.2; exit ${i}`]), dir: b.dir })),
      );
      assert.equal(JSON.stringify(runs), JSON.stringify([0, 1, 2, 3]));
      // ~200 ms of containers: a blocked loop would have ticked a handful of times at most.
      assert.ok(ticks > 50, `the event loop ticked ${ticks} times`);
    } finally {
      clearInterval(timer);
      await done();
      b.remove();
    }
  },

  async "warnings go to onWarning, not stderr"(assert) {
    const b = makeBundle();
    const warnings = [];
    const { rt, done } = makeRuntime({ onWarning: (w) => warnings.push(w) });
    try {
      const spec = withSpec(b.spec, ["true"], (s) => {
        s.mounts.push({ destination: "tmp2", type: "tmpfs", source: "tmpfs" });
      });
      assert.equal(await rt.run("w0", { spec, dir: b.dir }), 0);
      assert.ok(
        warnings.some((w) => /tmp2|relative/.test(w)),
        JSON.stringify(warnings),
      );
    } finally {
      await done();
      b.remove();
    }
  },

  async "Engine.run: the built-in busybox, stdout and stderr captured, exit status, Buffers on request"(assert) {
    const { engine, done } = makeEngine();
    try {
      const r = await engine.run("busybox", ["sh", "-c", "echo hi; echo oops >&2; exit 3"], { network: "none" });
      assert.equal(r.exitCode, 3);
      assert.equal(r.stdout, "hi\n");
      assert.equal(r.stderr, "oops\n");
      const b = await engine.run("busybox", ["cat"], { network: "none", stdin: "in\n", output: "buffer" });
      assert.ok(Buffer.isBuffer(b.stdout));
      assert.equal(b.stdout.toString(), "in\n");
      // run removes its container unless told otherwise.
      assert.equal((await engine.list({ all: true })).length, 0);
    } finally {
      await done();
    }
  },

  async "Container.pause/unpause/update/diff/port, Engine.list filters, info and version"(assert) {
    const { engine, done } = makeEngine();
    try {
      const box = await engine.start("busybox", ["sh", "-c", "echo x > /made; sleep 60"], {
        name: "ops",
        network: "none",
        labels: { role: "test" },
        memory: "32m",
      });
      try {
        await box.pause();
        assert.equal((await box.inspect()).State.Status, "paused");
        const paused = await engine.list({ filters: { status: ["paused"], label: ["role=test"] } });
        assert.equal(paused.map((c) => c.name).join(","), "ops");
        const refused = await box.exec(["true"]).catch((e) => e);
        assert.ok(refused instanceof ConflictError, String(refused));
        await box.unpause();
        await box.update({ memory: "64m", pidsLimit: 20 });
        assert.equal((await box.inspect()).HostConfig.Memory, 64 * 1024 * 1024);
        for (let i = 0; i < 100 && !(await box.diff()).some((c) => c.path === "/made"); i++)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal(JSON.stringify(await box.diff()), JSON.stringify([{ kind: "A", path: "/made" }]));
        assert.equal((await box.port()).length, 0);
        const info = await engine.info();
        assert.equal(info.containers.running, 1);
        assert.ok(/^(Bun|Node) /.test((await engine.version()).jsRuntime));
        const bad = await box.update({ memory: "1k" }).catch((e) => e);
        assert.ok(bad instanceof HuskError && /UpdateOptions\.memory/.test(bad.message), String(bad));
      } finally {
        await box[Symbol.asyncDispose]();
      }
    } finally {
      await done();
    }
  },

  async "helpers after the first start from the one sealed copy of the helper this process keeps"(assert) {
    const { engine, done } = makeEngine();
    let copy;
    try {
      assert.equal((await engine.run("busybox", ["true"], { network: "none" })).exitCode, 0);
      const box = await engine.start("busybox", ["sleep", "60"], { network: "none" });
      try {
        // The container's parent is its helper (the monitor of a library start).
        const helper = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${box.pid}/status`, "utf8"))[1]);
        assert.equal(readFileSync(`/proc/${helper}/comm`, "utf8"), "husk-helper\n");
        const helperPath = new URL("../../native/husk-helper", import.meta.url).pathname;
        assert.ok(readFileSync(`/proc/${helper}/cmdline`, "utf8").startsWith(`${helperPath}\0`));
        const copies = readdirSync("/proc/self/fd").filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`).startsWith("/memfd:husk-helper");
          } catch {
            return false;
          }
        });
        assert.equal(copies.length, 1);
        copy = copies[0];
        // Our copy is the helper's executable: it made none of its own.
        const ours = statSync(`/proc/self/fd/${copy}`);
        const its = statSync(`/proc/${helper}/exe`);
        assert.equal(`${its.dev}:${its.ino}`, `${ours.dev}:${ours.ino}`);
      } finally {
        await box.remove({ force: true });
      }
      // With no helper running it (ETXTBSY until the box's helper has exited; idle lets the
      // spare started for the next container go), a write is refused by the seals.
      await engine.idle();
      let fd;
      for (let i = 0; fd === undefined; i++) {
        try {
          fd = openSync(`/proc/self/fd/${copy}`, "r+");
        } catch (err) {
          if (err.code !== "ETXTBSY" || i === 100) throw err;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      let refused;
      try {
        writeSync(fd, "#!");
      } catch (err) {
        refused = err.code;
      } finally {
        closeSync(fd);
      }
      assert.equal(refused, "EPERM");
    } finally {
      await done();
    }
  },

  async "Engine.start, exec, and Symbol.asyncDispose (await using) removes it"(assert) {
    const { engine, done } = makeEngine();
    try {
      const box = await engine.start("busybox", ["sleep", "60"], { name: "w1", network: "none" });
      try {
        assert.ok(box.pid > 0);
        assert.ok(/^[0-9a-f]{64}$/.test(box.id));
        const e = await box.exec(["cat", "/etc/hostname"]);
        assert.equal(e.exitCode, 0);
        assert.equal(e.stdout, `${box.id.slice(0, 12)}\n`);
        assert.equal((await engine.list()).length, 1);
      } finally {
        await box[Symbol.asyncDispose]();
      }
      assert.equal((await engine.list({ all: true })).length, 0);
      let alive = true;
      try {
        process.kill(box.pid, 0);
      } catch {
        alive = false;
      }
      assert.ok(!alive, "the container's init is gone");
    } finally {
      await done();
    }
  },

  async "Container.commit and Engine.exportContainer keep a file capability (the --xattrs helper on this runtime)"(assert) {
    const { engine, done } = makeEngine();
    try {
      const box = await engine.start("busybox", ["sleep", "60"], { network: "none" });
      try {
        assert.equal((await box.exec(["sh", "-c", "mkdir /capbin && cp /bin/busybox /capbin/cat"])).exitCode, 0);
        // cap_net_raw+ep (VFS_CAP_REVISION_2 | effective, CAP_NET_RAW is 13), set from the host as setcap would.
        const cap = Buffer.alloc(20);
        cap.writeUInt32LE(0x02000001, 0);
        cap.writeUInt32LE(1 << 13, 4);
        const set = spawnSync("python3", [
          "-c",
          "import os,sys; os.setxattr(sys.argv[1], 'security.capability', bytes.fromhex(sys.argv[2]), follow_symlinks=False)",
          `/proc/${box.pid}/root/capbin/cat`,
          cap.toString("hex"),
        ]);
        assert.equal(set.status, 0, String(set.stderr));
        await box.commit({ tag: "example.test/libcap:1" });
        const r = await engine.run("example.test/libcap:1", ["/capbin/cat", "/proc/self/status"], {
          network: "none",
          user: "1000",
        });
        assert.ok(/^CapEff:\s*0000000000002000$/m.test(r.stdout), r.stdout);
        const chunks = [];
        const sink = new Writable({
          write(c, _e, cb) {
            chunks.push(c);
            cb();
          },
        });
        await engine.exportContainer(box.id, sink);
        const record = Buffer.concat([Buffer.from("SCHILY.xattr.security.capability="), cap, Buffer.from("\n")]);
        assert.ok(Buffer.concat(chunks).includes(record), "the export's PAX record for capbin/cat");
      } finally {
        await box[Symbol.asyncDispose]();
      }
    } finally {
      await done();
    }
  },

  async "timeoutMs and abort kill the container and reject with typed errors; bad options create nothing"(assert) {
    const { engine, done } = makeEngine();
    try {
      const t0 = Date.now();
      const err = await engine.run("busybox", ["sleep", "30"], { network: "none", timeoutMs: 300 }).catch((e) => e);
      assert.ok(err instanceof TimeoutError, String(err));
      assert.ok(err instanceof HuskError);
      assert.ok(Date.now() - t0 < 10000, "killed well before the sleep ended");
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const aborted = await engine.run("busybox", ["sleep", "30"], { network: "none", signal: ac.signal }).catch((e) => e);
      assert.ok(aborted instanceof AbortError, String(aborted));
      await assert.rejects(engine.run("busybox", ["true"], { memory: {} }), /RunOptions\.memory/);
      await assert.rejects(engine.run("busybox", ["true"], { ports: [42] }), /RunOptions\.ports/);
      await assert.rejects(engine.run("busybox", ["true"], { nmae: "x" }), /RunOptions\.nmae: unknown option/);
      assert.equal((await engine.list({ all: true })).length, 0);
    } finally {
      await done();
    }
  },

  async "Engine.spawn: lines of both streams as they come, tagged, before the container exits"(assert) {
    const { engine, done } = makeEngine();
    try {
      const p = await engine.spawn(
        "busybox",
        ["sh", "-c", "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; sleep 0.1; done; exit 4"],
        { network: "none" },
      );
      assert.ok(p.pid > 0 && /^[0-9a-f]{64}$/.test(p.id), `${p.pid} ${p.id}`);
      let exitedAt = 0;
      p.exited.then(() => {
        exitedAt = Date.now();
      });
      const seen = [];
      for await (const { stream, line } of p.lines()) seen.push({ stream, line, at: Date.now(), before: exitedAt === 0 });
      const { exitCode } = await p.exited;
      assert.equal(exitCode, 4);
      const lines = (name) => seen.filter((s) => s.stream === name).map((s) => s.line);
      assert.equal(lines("stdout").join(","), "out 1,out 2,out 3,out 4,out 5");
      assert.equal(lines("stderr").join(","), "err 1,err 2,err 3,err 4,err 5");
      // The first line came while the container still had ~400 ms to go.
      assert.ok(seen[0].before && exitedAt - seen[0].at > 250, `first line ${exitedAt - seen[0].at} ms before the exit`);
      assert.equal((await engine.list({ all: true })).length, 0);
    } finally {
      await done();
    }
  },

  async "Engine.spawn: stdin from a Readable, and a stdin Writable with stdin: pipe"(assert) {
    const { engine, done } = makeEngine();
    try {
      const r = await engine.run("busybox", ["cat"], { network: "none", stdin: Readable.from(["from ", "a Readable\n"]) });
      assert.equal(r.stdout, "from a Readable\n");
      const p = await engine.spawn("busybox", ["sh", "-c", "while read l; do echo got $l; done"], {
        network: "none",
        stdin: "pipe",
      });
      assert.ok(p.stdin !== null);
      const it = p.lines();
      p.stdin.write("one\n");
      assert.equal((await it.next()).value.line, "got one");
      p.stdin.write("two\n");
      assert.equal((await it.next()).value.line, "got two");
      p.stdin.end();
      assert.ok((await it.next()).done);
      assert.equal((await p.exited).exitCode, 0);
    } finally {
      await done();
    }
  },

  async "Engine.spawn: 100 MB of output streams with bounded memory; an idle consumer holds the container back"(assert) {
    const { engine, done } = makeEngine();
    try {
      const size = 100 * 1024 * 1024;
      const p = await engine.spawn("busybox", ["dd", "if=/dev/zero", "bs=65536", `count=${size / 65536}`], { network: "none" });
      const rss0 = process.memoryUsage().rss;
      await new Promise((r) => setTimeout(r, 500));
      const idle = process.memoryUsage().rss - rss0;
      assert.ok(idle < 16 * 1024 * 1024, `RSS grew ${idle} bytes while nobody read`);
      let n = 0;
      let peak = 0;
      for await (const c of p.stdout) {
        n += c.length;
        peak = Math.max(peak, process.memoryUsage().rss - rss0);
      }
      assert.equal(n, size);
      assert.ok(peak < 64 * 1024 * 1024, `RSS grew ${peak} bytes while 100 MB went through`);
      assert.equal((await p.exited).exitCode, 0);
    } finally {
      await done();
    }
  },

  async "Engine.spawn: timeoutMs and abort kill it while it streams; the iterator and exited reject, typed"(assert) {
    const { engine, done } = makeEngine();
    const forever = ["sh", "-c", "while true; do echo tick; sleep 0.1; done"];
    try {
      const t = await engine.spawn("busybox", forever, { network: "none", timeoutMs: 600 });
      let ticks = 0;
      const err = await (async () => {
        for await (const _ of t.lines()) ticks++;
      })().catch((e) => e);
      assert.ok(err instanceof TimeoutError && err.containerId === t.id, String(err));
      assert.ok(ticks >= 2, `${ticks} lines before the timeout`);
      await assert.rejects(t.exited, /killed after 600 ms/);
      const ac = new AbortController();
      const a = await engine.spawn("busybox", forever, { network: "none", signal: ac.signal });
      const first = await a.lines().next();
      assert.equal(first.value.line, "tick");
      ac.abort();
      const aborted = await a.exited.catch((e) => e);
      assert.ok(aborted instanceof AbortError, String(aborted));
      assert.equal((await engine.list({ all: true })).length, 0);
    } finally {
      await done();
    }
  },

  async "Engine.spawn and Container.spawn: kill, and Symbol.asyncDispose kills and removes"(assert) {
    const { engine, done } = makeEngine();
    const fds = () => readdirSync("/proc/self/fd").length;
    try {
      // One container first: the runtime's own lazily made fds (its event loop's, a thread pool's) are then made.
      await engine.run("busybox", ["true"], { network: "none" });
      // Removed containers' directories are deleted in the background (fs.promises on the thread
      // pool, with their directory fds open meanwhile): count fds only once that is done.
      const settled = async () => {
        await engine.idle();
        await new Promise((r) => setTimeout(r, 100));
      };
      await settled();
      const fds0 = fds();
      const p = await engine.spawn("busybox", ["sleep", "60"], { network: "none" });
      assert.ok(p.kill());
      const st = await p.exited;
      assert.equal(st.exitCode, 137);
      assert.equal(st.signal, "SIGKILL");
      assert.ok(!p.kill(), "kill after the exit says false");
      const q = await engine.spawn("busybox", ["sh", "-c", "echo up; sleep 60"], { network: "none", remove: false });
      assert.equal((await q.lines().next()).value.line, "up");
      await q[Symbol.asyncDispose]();
      assert.ok(!alive(q.pid), "the container's process is gone");
      assert.equal((await engine.inspect(q.id)).State.Status, "exited");
      await engine.remove(q.id);
      const box = await engine.start("busybox", ["sleep", "60"], { network: "none" });
      try {
        const e = await box.spawn(["sh", "-c", "echo a; echo b >&2; exit 2"]);
        const got = [];
        for await (const { stream, line } of e.lines()) got.push(`${stream}:${line}`);
        assert.equal(got.sort().join(","), "stderr:b,stdout:a");
        assert.equal((await e.exited).exitCode, 2);
        const s = await box.spawn(["sleep", "60"]);
        await s[Symbol.asyncDispose]();
        assert.ok(!alive(s.pid), "the exec'd process is gone");
        assert.equal((await engine.list()).length, 1);
      } finally {
        await box.remove({ force: true });
      }
      await settled();
      assert.equal(fds(), fds0);
    } finally {
      await done();
    }
  },

  async "a helper is started ahead for the next container: idle lets it go, and it keeps no process alive nor outlives it"(
    assert,
  ) {
    const { engine, dataRoot, stateRoot, done } = makeEngine();
    try {
      const r = spawnSync(process.execPath, [join(import.meta.dirname, "runs-and-ends.mjs"), dataRoot, stateRoot], {
        encoding: "utf8",
        timeout: 30000,
      });
      assert.equal(r.status, 0);
      const { spare, exitMs } = JSON.parse(r.stdout.trim().split("\n").at(-1));
      // One under Bun; under Node a batch of them from one start (spawnHelpers).
      assert.ok(spare.length >= 1, `spares: ${spare}`);
      // It ended at once (a spare waits up to 2 s unused: one that held the process would show).
      assert.ok(exitMs < 500, `the process took ${exitMs} ms to exit`);
      const t0 = Date.now();
      while (spare.some(alive) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      assert.ok(!spare.some(alive), "the spares went with their owner");
      // In this process: two runs, then spares wait; idle lets them go.
      for (let i = 0; i < 3; i++) assert.equal((await engine.run("busybox", ["true"], { network: "none" })).exitCode, 0);
      const mine = () => helperChildren().length;
      for (let i = 0; i < 100 && mine() === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(mine() >= 1);
      await engine.idle();
      assert.equal(mine(), 0);
      // A --batch process ends once its helpers have: none is left behind.
      for (let i = 0; i < 100 && anyHelperChildren().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(anyHelperChildren().length, 0);
    } finally {
      await done();
    }
  },

  async "containers whose helper was a spare get a fresh network namespace, made ahead; host networking and the helper keep the host's"(
    assert,
  ) {
    const { engine, done } = makeEngine();
    const hostNs = readlinkSync("/proc/self/ns/net");
    try {
      for (let i = 0; i < 4; i++) {
        const r = await engine.run("busybox", ["sh", "-c", "readlink /proc/self/ns/net; ls /sys/class/net"], { network: "none" });
        const [ns, ...links] = r.stdout.trim().split("\n");
        assert.ok(ns !== hostNs, `container ${i}: ${ns}`);
        assert.equal(links.join(","), "lo");
      }
      // And it is the one its spare made while it waited, not a second one made at clone (the
      // engine's overlay rootfs, made before clone, must not send the spare back to the host's).
      const ahead = await namespacesMadeAhead(hostNs);
      const taken = (await engine.run("busybox", ["readlink", "/proc/self/ns/net"], { network: "none" })).stdout.trim();
      assert.ok(ahead.includes(taken), `${taken} is one of the spares' ${ahead.join(", ")}`);
      // A spare waits with a namespace made ahead: host networking must not get it.
      const h = await engine.run("busybox", ["readlink", "/proc/self/ns/net"], { network: "host" });
      assert.equal(h.stdout.trim(), hostNs);
      const box = await engine.start("busybox", ["sleep", "60"], { network: "none" });
      try {
        assert.ok(readlinkSync(`/proc/${box.pid}/ns/net`) !== hostNs);
        // One made ahead while the box runs is another (namespace numbers are reused only once freed).
        const next = await engine.run("busybox", ["readlink", "/proc/self/ns/net"], { network: "none" });
        assert.ok(![hostNs, readlinkSync(`/proc/${box.pid}/ns/net`)].includes(next.stdout.trim()), next.stdout);
        // Its helper (the parent) went back to the host's once it had cloned the container.
        assert.equal(readlinkSync(`/proc/${parentOf(box.pid)}/ns/net`), hostNs);
      } finally {
        await box.remove({ force: true });
      }
    } finally {
      await done();
    }
  },

  async "husk's default parent cgroups stay between a runtime's containers from its second on; idle removes them"(assert) {
    const { engine, done } = makeEngine();
    // One hierarchy's /husk stands for all (they are made and removed together): v1's pids, or v2's root.
    const parent = existsSync("/sys/fs/cgroup/pids") ? "/sys/fs/cgroup/pids/husk" : "/sys/fs/cgroup/husk";
    try {
      assert.equal(existsSync(parent), false);
      assert.equal((await engine.run("busybox", ["true"], { network: "none" })).exitCode, 0);
      assert.equal(existsSync(parent), false); // one container: as the CLI, nothing left
      for (let i = 0; i < 2; i++) assert.equal((await engine.run("busybox", ["true"], { network: "none" })).exitCode, 0);
      assert.equal(existsSync(parent), true);
      assert.equal(readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).length, 0);
      await engine.idle();
      assert.equal(existsSync(parent), false);
    } finally {
      await done();
    }
  },

  async "containers from spares (a batch of them under Node) each get their own stdin, stdout and stderr"(assert) {
    const { engine, done } = makeEngine();
    // Past two batches' ends: a batch's closed sockets are let go quietly (no listener added to
    // one for each ref or unref, which Node would warn of in the caller's process).
    const warnings = [];
    const onWarning = (w) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      const one = async (i) => {
        const r = await engine.run("busybox", ["sh", "-c", `cat; echo err-${i} >&2; exit ${i % 7}`], {
          network: "none",
          stdin: `in-${i}`,
        });
        assert.equal(r.stdout, `in-${i}`);
        assert.equal(r.stderr, `err-${i}\n`);
        assert.equal(r.exitCode, i % 7);
      };
      for (let i = 0; i < 3; i++) await one(i);
      let next = 3;
      const lane = async () => {
        while (next < 80) await one(next++);
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
    } finally {
      await done();
      await new Promise((r) => setTimeout(r, 50)); // a warning is emitted on a later tick
      process.off("warning", onWarning);
    }
    assert.equal(warnings.join("\n"), "");
  },

  async "a spawned container dies with its owner's process (SIGKILL), helper and all"(assert) {
    await diesWithOwner(assert, false);
  },

  async "a container whose helper was a spare dies with its owner's process too"(assert) {
    await diesWithOwner(assert, true);
  },
};

/** The owner (owner.mjs) spawns a streaming container, after three others with `spare`, and is killed. */
async function diesWithOwner(assert, spare) {
  const { engine, dataRoot, stateRoot, done } = makeEngine();
  const owner = spawn(
    process.execPath,
    [join(import.meta.dirname, "owner.mjs"), dataRoot, stateRoot, ...(spare ? ["spare"] : [])],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const first = await new Promise((resolve, reject) => {
      owner.stdout.once("data", (d) => resolve(JSON.parse(String(d).split("\n")[0])));
      owner.once("exit", (code) => reject(new Error(`the owner exited with ${code}`)));
    });
    const helper = parentOf(first.pid);
    // A spare's parent is the owner, or under Node the --batch process the owner started.
    const starter = parentOf(helper);
    assert.ok(starter === owner.pid || (spare && parentOf(starter) === owner.pid), `helper ${helper}'s parent ${starter}`);
    assert.ok(alive(first.pid) && alive(helper));
    // Under Node, the batch of spares the helper came from (and its spares not yet forked) go too.
    const batch = starter === owner.pid ? undefined : starter;
    const cgroups = cgroupDirsOf(first.pid);
    assert.ok(cgroups.length > 0, "the container is in cgroups of its own");
    owner.kill("SIGKILL");
    const t0 = Date.now();
    const left = () => [first.pid, helper, ...(batch ? [batch] : [])].filter(alive);
    while (left().length > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(first.pid), "the container is gone");
    assert.ok(!alive(helper), "its helper is gone");
    assert.ok(!batch || !alive(batch), "its helper batch is gone");
    // Its helper removed its cgroup once it had reaped it: nobody else was left to.
    const kept = cgroups.filter((d) => existsSync(d));
    assert.ok(kept.length === 0, `its cgroup is gone (left: ${kept.join(", ")})`);
    // Its record stays for rm -f, as after any crash; done() removes it.
    assert.equal((await engine.list({ all: true })).length, 1);
  } finally {
    owner.kill("SIGKILL");
    await done();
  }
}

/** A process's helpers for containers (husk-helper [--netns-ahead] <syncfd>; not Node's parked --flocks ones) that are not zombies. */
export function helperChildren(of = process.pid) {
  const helpers = [];
  for (const p of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && parentOf(p) === of && alive(p))) {
    let args;
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8") !== "husk-helper\n") continue;
      args = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    // Under Node, spares come from one --batch process (native/batch.c): its children are they.
    if (args[1] === "--batch")
      helpers.push(...readdirSync("/proc").filter((c) => /^\d+$/.test(c) && parentOf(c) === Number(p) && alive(c)));
    else if (/^(\d+|--netns-ahead)$/.test(args[1])) helpers.push(p);
  }
  return helpers;
}

/** This process's children that are helpers of any kind (a --batch process too), by pid. */
export function anyHelperChildren(of = process.pid) {
  return readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p) || parentOf(p) !== of || !alive(p)) return false;
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8") === "husk-helper\n";
    } catch {
      return false;
    }
  });
}

/** A process that exists and is not a zombie waiting to be reaped. */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The network namespaces this process's waiting spare helpers made ahead (once one has). */
async function namespacesMadeAhead(hostNs) {
  for (const t0 = Date.now(); Date.now() - t0 < 3000; await new Promise((r) => setTimeout(r, 20))) {
    const made = helperChildren().flatMap((p) => {
      try {
        const ns = readlinkSync(`/proc/${p}/ns/net`);
        return ns === hostNs ? [] : [ns];
      } catch {
        return []; // gone meanwhile
      }
    });
    if (made.length > 0) return made;
  }
  return [];
}

/** The host directories of a process's cgroups that husk made for a container (…/husk/<id>), in every hierarchy. */
function cgroupDirsOf(pid) {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => /^cgroup2?$/.test(f[f.indexOf("-") + 1]))
    .map((f) => f[4]);
  const inner = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .map((l) => l.slice(l.indexOf(":", l.indexOf(":") + 1) + 1))
    .filter((p) => p.startsWith("/husk/"));
  return [...new Set(mounts.flatMap((m) => inner.map((p) => m + p)).filter((d) => existsSync(d)))];
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
