/**
 * `husk attach` and `Engine.attach`: a running detached container's output as it comes, through
 * its monitor's attach socket (native/monitor.c), while the log goes on; stdin with -i; ^P^Q
 * (or --detach-keys) leaves it running and another attach works after; a terminal (-dt) in raw
 * mode whose size follows the caller's; the container's exit ends the attach with its status;
 * `start -ai` of a `create -it` container detaches as `run -it` does, and so does a `run -it`
 * whose log has what came before the keys; a stalled attacher holds nothing up, and an
 * attachment nobody reads still ends. script(1) plays the caller's terminal where one is needed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, engineWorld, HUSK_ENGINE, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { CTRL_P, CTRL_Q, terminal } from "../fixtures/terminal.ts";

/** The engine CLI with piped stdio, its output read as it comes. */
function piped(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([HUSK_ENGINE, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env });
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  const errDecoder = new TextDecoder();
  const reading = Promise.all([
    (async () => {
      for await (const c of proc.stdout) out += decoder.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of proc.stderr) err += errDecoder.decode(c, { stream: true });
    })(),
  ]);
  return {
    proc,
    out: () => out,
    err: () => err,
    type(text: string) {
      proc.stdin.write(text);
      proc.stdin.flush();
    },
    waitFor: (re: RegExp, ms = 15000) => until(() => re.test(out), ms, `${re} in ${JSON.stringify(out)} (stderr ${err})`),
    async exited(ms = 15000): Promise<number> {
      const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
      const code = await proc.exited;
      clearTimeout(timer);
      await reading.catch(() => {});
      return code;
    },
  };
}

describeAsRoot("engine attach", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("attach to run -d: live output (not what came before), the container's exit ends it with its status", async () => {
    const sh = "echo early; while [ ! -f /go ]; do sleep 0.1; done; echo late; echo oops >&2; exit 3";
    const id = (await w.husk(["run", "-d", "--network", "none", "busybox", "sh", "-c", sh])).stdout.trim();
    try {
      await until(async () => (await w.husk(["logs", id])).stdout === "early\n", 5000, "early in the log");
      const a = piped(["attach", id], w.env);
      // Attached once the monitor has it: the socket is there from the start, so give the CLI a moment.
      await until(() => statSync(join(w.dataRoot, "containers", id, "attach")).isSocket(), 5000, "the socket");
      await Bun.sleep(500);
      expect((await w.engine.exec(id, ["touch", "/go"])).exitCode).toBe(0);
      expect(await a.exited()).toBe(3);
      expect(a.out()).toBe("late\n");
      expect(a.err()).toBe("oops\n");
      // The log has it all, and the record says how it ended.
      expect((await w.husk(["logs", id])).stdout).toBe("early\nlate\n");
      expect((await w.engine.inspect(id)).State.ExitCode).toBe(3);
    } finally {
      await w.husk(["rm", "-f", id]);
    }
  });

  test("-i: stdin reaches it; ^P^Q detaches (exit 0) and it runs on; a second attach works; its exit ends that one", async () => {
    const sh = 'echo ready; while read l; do [ "$l" = quit ] && exit 5; echo got:$l; done';
    expect((await w.husk(["run", "-di", "--name", "ai", "--network", "none", "busybox", "sh", "-c", sh])).code).toBe(0);
    try {
      expect((await w.engine.inspect("ai")).Config.OpenStdin).toBe(true);
      await until(async () => (await w.husk(["logs", "ai"])).stdout === "ready\n", 5000, "ready");
      const first = piped(["attach", "ai"], w.env);
      await Bun.sleep(500);
      first.type("hello\n");
      await first.waitFor(/got:hello\n/);
      first.type(CTRL_P + CTRL_Q);
      expect(await first.exited()).toBe(0);
      expect((await w.engine.inspect("ai")).State.Running).toBe(true);
      // --no-stdin: what it types goes nowhere.
      const quiet = piped(["attach", "--no-stdin", "ai"], w.env);
      await Bun.sleep(500);
      quiet.type("quit\n");
      const second = piped(["attach", "--detach-keys", "ctrl-x", "ai"], w.env);
      await Bun.sleep(500);
      second.type(`${CTRL_P}${CTRL_Q}again\n`);
      await second.waitFor(new RegExp(`got:${CTRL_P}${CTRL_Q}again\n`));
      expect(quiet.out()).toContain("got:\x10\x11again\n");
      second.type("quit\n");
      expect(await second.exited()).toBe(5);
      expect(await quiet.exited()).toBe(5);
      expect((await w.husk(["logs", "ai"])).stdout).toBe("ready\ngot:hello\ngot:\x10\x11again\n");
    } finally {
      await w.husk(["rm", "-f", "ai"]);
    }
  });

  test("-dt: raw mode, the caller's size at attach and after a resize (stty size inside), ^P^Q leaves it running", async () => {
    const id = (await w.husk(["run", "-dit", "--name", "at", "--network", "none", "busybox", "sh"])).stdout.trim();
    const flag = join(w.dataRoot, `resize-${id}`);
    // A background shell of the same terminal resizes it when told; the kernel sends SIGWINCH to husk.
    const t = terminal(
      `stty rows 30 cols 100; (while [ ! -f ${flag} ]; do sleep 0.1; done; stty rows 40 cols 120 </dev/tty) & ${HUSK_ENGINE} attach at`,
      w.env,
    );
    try {
      await Bun.sleep(1000);
      t.type("stty size\r");
      await t.waitFor(/30 100\n/);
      await Bun.write(flag, "");
      await Bun.sleep(800);
      t.type("stty size\r");
      await t.waitFor(/40 120\n/);
      // Raw: ^C is a byte for the container's terminal (its shell), not a signal for husk.
      t.type("\x03echo still-$((6*7))\r");
      await t.waitFor(/still-42/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
      expect((await w.engine.inspect("at")).State.Running).toBe(true);
      // The log (a tty's: one stream) has what the session showed.
      expect((await w.husk(["logs", "at"])).stdout).toContain("40 120");
    } finally {
      await t.close();
      await w.husk(["rm", "-f", "at"]);
    }
  });

  test("start -ai of a create -it container: ^P^Q detaches as run -it's do; attach after, exit status", async () => {
    const c = await w.husk(["create", "-it", "--name", "sai", "--network", "none", "busybox", "sh"]);
    expect(c.code).toBe(0);
    const t = terminal(`${HUSK_ENGINE} start -ai sai`, w.env);
    try {
      t.type("echo one-$((1+1))\r");
      await t.waitFor(/one-2/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
      expect((await w.engine.inspect("sai")).State.Running).toBe(true);
    } finally {
      await t.close();
    }
    const again = terminal(`${HUSK_ENGINE} attach sai`, w.env);
    try {
      await Bun.sleep(1000);
      again.type("exit 9\r");
      expect(await again.exitCode()).toBe(9);
    } finally {
      await again.close();
      await w.husk(["rm", "-f", "sai"]);
    }
  });

  test("run -it detached with ^P^Q: attach gets its terminal back; the log has it all, from before the keys too", async () => {
    const t = terminal(`${HUSK_ENGINE} run -it --name rit --network none busybox sh`, w.env);
    try {
      await Bun.sleep(1000);
      t.type("echo before-$((3+4))\r");
      await t.waitFor(/before-7/);
      t.type(CTRL_P + CTRL_Q);
      expect(await t.exitCode()).toBe(0);
    } finally {
      await t.close();
    }
    const again = terminal(`${HUSK_ENGINE} attach rit`, w.env);
    try {
      await Bun.sleep(1000);
      again.type("echo after-$((4+4))\r");
      await again.waitFor(/after-8/);
      again.type("exit 4\r");
      expect(await again.exitCode()).toBe(4);
      const log = (await w.husk(["logs", "rit"])).stdout;
      expect(log).toContain("before-7");
      expect(log).toContain("after-8");
    } finally {
      await again.close();
      await w.husk(["rm", "-f", "rit"]);
    }
  });

  test("attach to a stopped, created or unknown container: one clear error, non-zero exit", async () => {
    const unknown = await w.husk(["attach", "nosuch"]);
    expect(unknown).toEqual({ code: 1, stdout: "", stderr: "husk: no such container: nosuch\n" });
    const created = (await w.husk(["create", "--network", "none", "busybox", "true"])).stdout.trim();
    const exited = (await w.husk(["run", "-d", "--network", "none", "busybox", "true"])).stdout.trim();
    try {
      await w.husk(["wait", exited]);
      for (const id of [created, exited]) {
        const r = await w.husk(["attach", id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^husk: cannot attach to container \w+: it is not running \(start it first\)\n$/);
      }
      const keys = await w.husk(["attach", "--detach-keys", "ctrl-?", exited]);
      expect(keys.code).toBe(1);
      expect(keys.stderr).toMatch(/^husk: --detach-keys: invalid detach key "ctrl-\?"/);
      await expect(w.engine.attach(exited, { stdin: "yes" as never })).rejects.toThrow("AttachOptions.stdin: must be a boolean");
    } finally {
      await w.husk(["rm", "-f", created, exited]);
    }
  });

  test("the library: attach with start runs a created -i container attached from its first byte; stdin's end is its EOF", async () => {
    const box = await w.engine.create("busybox", ["sh", "-c", "echo first; cat; echo err >&2; exit 7"], {
      network: "none",
      interactive: true,
    });
    try {
      const a = await box.attach({ start: true });
      let out = "";
      let err = "";
      a.stdout.on("data", (c: Buffer) => {
        out += c;
      });
      a.stderr.on("data", (c: Buffer) => {
        err += c;
      });
      a.stdin!.write("through cat\n");
      a.stdin!.end();
      expect(await a.ended).toEqual({ detached: false, exitCode: 7, signal: undefined });
      expect(out).toBe("first\nthrough cat\n");
      expect(err).toBe("err\n");
      expect((await box.inspect()).State.ExitCode).toBe(7);
    } finally {
      await box.remove({ force: true });
    }
  });

  test("a stalled attacher (a stopped husk attach) holds up neither the log nor another attacher", async () => {
    // ~1.3 MB/s: more than an attacher's queue and socket buffers hold within a second.
    const sh = "while true; do head -c 65536 /dev/zero | tr '\\0' x; echo; sleep 0.05; done";
    const box = await w.engine.start("busybox", ["sh", "-c", sh], { network: "none" });
    const log = join(w.dataRoot, "containers", box.id, "container.log");
    const stalled = piped(["attach", box.id], w.env);
    try {
      await until(() => stalled.out().length > 0, 10000, "the first attacher's output");
      process.kill(stalled.proc.pid, "SIGSTOP");
      await Bun.sleep(1000);
      const before = statSync(log).size;
      await Bun.sleep(1000);
      // The output goes on into the log while the stopped one reads nothing.
      expect(statSync(log).size - before).toBeGreaterThan(512 << 10);
      const live = await box.attach();
      let got = 0;
      for await (const chunk of live.stdout) {
        got += (chunk as Buffer).length;
        if (got > 512 << 10) break;
      }
      expect(got).toBeGreaterThan(512 << 10);
      live.detach();
      expect(await live.ended).toEqual({ detached: true });
      // Woken, it has lost output but is still attached: the container's end reaches it.
      process.kill(stalled.proc.pid, "SIGCONT");
      await Bun.sleep(500);
      await box.kill("SIGKILL");
      expect(await stalled.exited()).toBe(137);
    } finally {
      stalled.proc.kill("SIGCONT");
      await box.remove({ force: true });
    }
  });

  test("the library: an attachment nobody reads still ends with the exit status (output past 1 MiB dropped)", async () => {
    const box = await w.engine.create("busybox", ["sh", "-c", "head -c 4000000 /dev/zero | tr '\\0' y; exit 2"], {
      network: "none",
    });
    try {
      const a = await box.attach({ start: true });
      expect(await a.ended).toEqual({ detached: false, exitCode: 2, signal: undefined });
      expect(a.stdout.readableLength).toBeLessThanOrEqual((1 << 20) + 65535);
    } finally {
      await box.remove({ force: true });
    }
  });
});
