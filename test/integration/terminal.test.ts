/**
 * A terminal in the foreground without --console-socket (runc's `run -t`, `exec -t`; the
 * engine's `run -it`): the helper proxies the caller's terminal to a pty made inside the
 * container. script(1) plays the caller's terminal: its size reaches the container, typed input
 * is read (and echoed by the container's line discipline), and the exit status passes through.
 */
import { expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContainer, nextId } from "../fixtures/container.ts";
import { HUSK_ENGINE } from "../fixtures/engine.ts";
import { describeAsRoot, HUSK, husk, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

/** Run `command` under script(1) on a 24x80... terminal of `rows`x`cols`, typing `input` after a pause. */
function onTerminal(command: string, input: string, rows = 21, cols = 97): { out: string; code: number } {
  const shell = `stty rows ${rows} cols ${cols}; ${command}; echo "EXIT=$?"`;
  const r = spawnSync(
    "sh",
    ["-c", `(sleep 1; printf '${input}\\r'; sleep 3) | script -qec '${shell.replaceAll("'", "'\\''")}' /dev/null`],
    {
      encoding: "utf8",
      timeout: 30000,
    },
  );
  const out = r.stdout.replaceAll("\r", "");
  const code = Number(/EXIT=(\d+)/.exec(out)?.[1] ?? -1);
  return { out, code };
}

const SCRIPT = 'tty; stty size; read line; echo "got:$line"; exit 3';

describeAsRoot("terminal", () => {
  test("husk-runtime run -t without --console-socket: a pty inside, the caller's size, input, exit status", () => {
    const bundle = makeBundle(["sh", "-c", SCRIPT], (s) => {
      s.process!.terminal = true;
    });
    const id = nextId();
    try {
      const r = onTerminal(`${HUSK} --root ${TEST_ROOT} run --bundle ${bundle.dir} ${id}`, "hello");
      expect(r.out).toMatch(/^\/dev\/pts\/\d+$/m);
      expect(r.out).toContain("21 97\n");
      expect(r.out).toContain("got:hello\n");
      expect(r.code).toBe(3);
    } finally {
      spawnSync(HUSK, ["--root", TEST_ROOT, "delete", "--force", id]);
      bundle.remove();
    }
  });

  test("husk-runtime exec -t into a running container, and create -t still needs --console-socket", async () => {
    const bundle = makeBundle(["sleep", "60"]);
    const id = nextId();
    try {
      await createContainer(bundle.dir, id);
      expect((await husk(["start", id])).code).toBe(0);
      const r = onTerminal(
        `${HUSK} --root ${TEST_ROOT} exec -t ${id} sh -c '${SCRIPT.replaceAll("'", "'\\''")}'`,
        "there",
        30,
        100,
      );
      expect(r.out).toContain("30 100\n");
      expect(r.out).toContain("got:there\n");
      expect(r.code).toBe(3);
      bundle.spec.process!.terminal = true;
      bundle.write();
      const refused = await husk(["create", "--bundle", bundle.dir, nextId()]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("needs --console-socket");
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("the terminal belongs to the process' user: devpts' gid=5 (the tty group) kept, else the process' gid (run -t and exec -t)", async () => {
    const OWNER = "stat -c owner=%u:%g $(tty)";
    const bundle = makeBundle(["sh", "-c", OWNER], (s) => {
      s.process!.terminal = true;
      s.process!.user = { uid: 1000, gid: 100 };
    });
    const id = nextId();
    try {
      const run = onTerminal(`${HUSK} --root ${TEST_ROOT} run --bundle ${bundle.dir} ${id}`, "");
      expect(run.out).toContain("owner=1000:5\n");
      expect(run.code).toBe(0);
      await husk(["delete", "--force", id]);
      // Without gid= on /dev/pts the kernel would give the pty root's group: the process' own instead.
      const pts = bundle.spec.mounts!.find((m) => m.destination === "/dev/pts")!;
      pts.options = pts.options!.filter((o) => !o.startsWith("gid="));
      bundle.spec.process = { ...bundle.spec.process!, args: ["sleep", "60"], terminal: false };
      bundle.write();
      await createContainer(bundle.dir, id);
      expect((await husk(["start", id])).code).toBe(0);
      const exec = onTerminal(`${HUSK} --root ${TEST_ROOT} exec -t --user 1001:101 ${id} sh -c '${OWNER}'`, "");
      expect(exec.out).toContain("owner=1001:101\n");
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("exec -p with a process.json that names no user runs as uid 0, gid 0 (runc's zero value), with its consoleSize", async () => {
    const bundle = makeBundle(["sleep", "60"], (s) => {
      s.process!.user = { uid: 1000, gid: 100 };
    });
    const id = nextId();
    try {
      await createContainer(bundle.dir, id);
      expect((await husk(["start", id])).code).toBe(0);
      const file = `${bundle.dir}/process.json`;
      writeFileSync(file, JSON.stringify({ args: ["sh", "-c", "echo ids=$(id -u):$(id -g)"], cwd: "/" }));
      const plain = await husk(["exec", "-p", file, id]);
      expect(plain).toMatchObject({ code: 0, stdout: "ids=0:0\n" });
      // runc's tty.bats: a terminal of the size asked for, through a console socket (in the
      // foreground the caller's own size would win).
      const sock = `${bundle.dir}/console.sock`;
      const receiver = spawn("python3", [join(import.meta.dir, "../fixtures/console-receiver.py"), sock], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      try {
        let out = "";
        receiver.stdout.on("data", (d) => {
          out += d;
        });
        const exited = new Promise((done) => receiver.on("exit", done));
        for (let i = 0; i < 500 && !out.includes("listening"); i++) await Bun.sleep(10);
        const sized = {
          terminal: true,
          consoleSize: { height: 10, width: 110 },
          args: ["sh", "-c", "stty size; id -u"],
          cwd: "/",
        };
        writeFileSync(file, JSON.stringify(sized));
        expect((await husk(["exec", "-d", "--console-socket", sock, "-p", file, id])).code).toBe(0);
        await exited;
        expect(out.replaceAll("\r", "")).toContain("10 110\n0\n");
      } finally {
        receiver.kill("SIGKILL");
      }
    } finally {
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
  });

  test("husk run -it: TERM, the caller's size, input, exit status", () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "husk-tty-"));
    const stateRoot = mkdtempSync("/run/husk-tty-");
    try {
      const r = onTerminal(
        `HUSK_IP_FORWARD=0 ${HUSK_ENGINE} --data-root ${dataRoot} --state-root ${stateRoot} run --rm -it --network none busybox sh -c 'echo $TERM; ${SCRIPT.replaceAll("'", "'\\''")}'`,
        "engine",
      );
      expect(r.out).toContain("xterm\n");
      expect(r.out).toContain("21 97\n");
      expect(r.out).toContain("got:engine\n");
      expect(r.code).toBe(3);
    } finally {
      rmSync(dataRoot, { recursive: true, force: true });
      rmSync(stateRoot, { recursive: true, force: true });
    }
  });
});
