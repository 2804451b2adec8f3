/**
 * The library's behaviour, written once and run by both test runners: bun test
 * (runtime.bun.test.ts) and node --test (runtime.node.mjs), against the built package
 * (dist/lib), as a service on either runtime would load it. Each scenario makes its own
 * busybox bundle and state root and removes them whatever happens.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    async done() {
      for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
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
};
