/**
 * `husk attach` and `Engine.attach`: a running detached container's output as it comes, through
 * its monitor's attach socket (native/monitor.c), while the log goes on; stdin with -i; ^P^Q
 * (or --detach-keys) leaves it running and another attach works after; a terminal (-dt) in raw
 * mode whose size follows the caller's; the container's exit ends the attach with its status;
 * `start -ai` of a `create -it` container detaches as `run -it` does, and so does a `run -it`
 * whose log has what came before the keys; no attacher loses output (docker's back-pressure):
 * `start -a` through a stalled reader gets every byte, a stalled attacher holds the container's
 * output until it is killed, then the container goes on and its log is whole. script(1) plays
 * the caller's terminal where one is needed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
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

/** 20 MB in lines of 1000 bytes: far more than the pipe, the monitor's queue and the socket's buffers hold. */
const BURST_LINES = 20000;
const BURST = `yes $(printf %01000d 0) | head -n ${BURST_LINES}`;

/** The direct children of a process (a shell pipeline's members). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
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

  /** Entries in a container's log (json-file lines). */
  const logEntries = (id: string) =>
    readFileSync(join(w.dataRoot, "containers", id, "container.log"), "utf8")
      .split("\n")
      .filter(Boolean).length;

  /** While `stalled` reads nothing the container is held; killing it lets the container finish with a whole log. */
  async function heldUntilKilled(id: string, stalled: number): Promise<void> {
    await Bun.sleep(2000);
    const held = logEntries(id);
    expect((await w.engine.inspect(id)).State.Running).toBe(true);
    expect(held).toBeLessThan(BURST_LINES);
    await Bun.sleep(500);
    // Held, not slow: nothing more reaches the log either (docker's broadcaster blocks it too).
    expect(logEntries(id)).toBe(held);
    process.kill(stalled, "SIGKILL");
    expect((await w.husk(["wait", id])).stdout).toBe("0\n");
    expect(logEntries(id)).toBe(BURST_LINES);
  }

  test("start -a through a reader that stalls, then reads: every byte of 50 MB, in order", async () => {
    // One line, so that the log's entries are few (16 KiB each) and cheap.
    const id = (await w.husk(["create", "--network", "none", "busybox", "seq", "-s", " ", "1", "6500000"])).stdout.trim();
    try {
      const p = Bun.spawn(["sh", "-c", `${HUSK_ENGINE} start -a ${id} | { sleep 2; md5sum; }`], { env: w.env, stdout: "pipe" });
      const sum = (await new Response(p.stdout).text()).split(" ")[0];
      expect(await p.exited).toBe(0);
      const lines: string[] = [];
      for (let k = 1; k <= 6500000; k++) lines.push(String(k));
      expect(sum).toBe(new Bun.CryptoHasher("md5").update(`${lines.join(" ")}\n`).digest("hex"));
    } finally {
      await w.husk(["rm", "-f", id]);
    }
  }, 120000);

  test("a start -a whose reader stalls holds the container; killed, it lets go: the container ends, its log whole", async () => {
    const id = (await w.husk(["create", "--network", "none", "busybox", "sh", "-c", BURST])).stdout.trim();
    // sleep never reads: husk's stdout fills, then its socket, then the monitor's queue.
    const sh = Bun.spawn(["sh", "-c", `${HUSK_ENGINE} start -a ${id} | sleep 600`], { env: w.env });
    try {
      await until(async () => (await w.engine.inspect(id)).State.Running, 10000, "running");
      const husk = childrenOf(sh.pid).find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("start"));
      expect(husk).toBeDefined();
      await heldUntilKilled(id, husk!);
    } finally {
      for (const pid of childrenOf(sh.pid)) process.kill(pid, "SIGKILL");
      await w.husk(["rm", "-f", id]);
    }
  }, 60000);

  test("a late husk attach that stops (SIGSTOP) holds the container's output as docker's; killed, it lets go", async () => {
    const sh = `while [ ! -f /go ]; do sleep 0.1; done; ${BURST}`;
    const id = (await w.husk(["run", "-d", "--network", "none", "busybox", "sh", "-c", sh])).stdout.trim();
    const stalled = piped(["attach", id], w.env);
    try {
      await until(() => statSync(join(w.dataRoot, "containers", id, "attach")).isSocket(), 5000, "the socket");
      await Bun.sleep(500);
      process.kill(stalled.proc.pid, "SIGSTOP");
      expect((await w.engine.exec(id, ["touch", "/go"])).exitCode).toBe(0);
      await heldUntilKilled(id, stalled.proc.pid);
    } finally {
      stalled.proc.kill("SIGKILL");
      await w.husk(["rm", "-f", id]);
    }
  }, 60000);

  test("a reader that keeps up, however slowly, holds nothing for good: two attachers both get every line", async () => {
    const sh = `while [ ! -f /go ]; do sleep 0.1; done; ${BURST}`;
    const box = await w.engine.start("busybox", ["sh", "-c", sh], { network: "none" });
    try {
      const a = await box.attach();
      const b = await box.attach();
      const count = async (r: NodeJS.ReadableStream, pause: number) => {
        let n = 0;
        for await (const chunk of r) {
          n += (chunk as Buffer).length;
          if (pause) await Bun.sleep(pause);
        }
        return n;
      };
      expect((await w.engine.exec(box.id, ["touch", "/go"])).exitCode).toBe(0);
      const [fast, slow] = await Promise.all([count(a.stdout, 0), count(b.stdout, 2)]);
      expect(fast).toBe(BURST_LINES * 1001);
      expect(slow).toBe(BURST_LINES * 1001);
      expect(await a.ended).toEqual({ detached: false, exitCode: 0, signal: undefined });
    } finally {
      await box.remove({ force: true });
    }
  }, 60000);

  test("the library: output nobody reads waits (the container with it), then comes whole, then the exit status", async () => {
    const box = await w.engine.create("busybox", ["sh", "-c", "head -c 8000000 /dev/zero | tr '\\0' y; exit 2"], {
      network: "none",
    });
    try {
      const a = await box.attach({ start: true });
      await Bun.sleep(1500);
      expect((await box.inspect()).State.Running).toBe(true);
      let got = 0;
      for await (const chunk of a.stdout) got += (chunk as Buffer).length;
      expect(got).toBe(8000000);
      expect(await a.ended).toEqual({ detached: false, exitCode: 2, signal: undefined });
    } finally {
      await box.remove({ force: true });
    }
  });
});
