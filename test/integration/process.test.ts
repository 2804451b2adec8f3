/**
 * The container process: args, env, cwd, user, umask, rlimits, capabilities, no_new_privs,
 * oom_score_adj, sysctls, exit status, signal forwarding and inherited file descriptors.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/oci/types.ts";
import { ended, nextId, runArgs, runSh } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, husk, spawnHusk, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle } from "../fixtures/rootfs.ts";

/** /proc/self/status line values, e.g. status("CapEff"). */
function statusField(text: string, name: string): string | undefined {
  return text.match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1];
}

const CAP_SYS_RESOURCE = 24n;
const hostCanRaiseHardLimits =
  (BigInt(`0x${statusField(readFileSync("/proc/self/status", "utf8"), "CapEff")}`) >> CAP_SYS_RESOURCE) & 1n;
const hostNofileHard = Number(readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+\d+\s+(\d+)/m)?.[1]);

describeAsRoot("process", () => {
  test("args, env and cwd reach the process as given", async () => {
    const r = await runArgs(["sh", "-c", 'printf "%s|" "$0" "$@"; echo; echo "$FOO"; pwd', "zero", "a b", "", "c"], (s) => {
      s.process!.env = ["PATH=/bin", "FOO=bar  baz=qux"];
      s.process!.cwd = "/etc";
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("zero|a b||c|\nbar  baz=qux\n/etc\n");
  });

  test("env is exactly process.env (plus what sh itself sets)", async () => {
    const r = await runArgs(["env"], (s) => {
      s.process!.env = ["PATH=/bin", "A=1", "B="];
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("PATH=/bin\nA=1\nB=\n");
  });

  // As runc does: mkdir -p, 0755, before the root is made read-only.
  test("a cwd missing from the rootfs is created, as runc does", async () => {
    const r = await runSh("pwd; stat -c '%a %u %g' /work/deep", (s) => {
      s.process!.cwd = "/work/deep";
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("/work/deep\n755 0 0\n");
  });

  test("user: uid, gid and additionalGids", async () => {
    const r = await runSh("id -u; id -g; id -G", (s) => {
      s.process!.user = { uid: 1000, gid: 1001, additionalGids: [10, 2000] };
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1000\n1001\n1001 10 2000\n");
  });

  test("umask 23 (decimal) is 0027", async () => {
    const r = await runSh("umask", (s) => {
      s.process!.user.umask = 23;
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("0027\n");
  });

  test("rlimits: RLIMIT_NOFILE soft 1024 hard 2048", async () => {
    const r = await runSh("ulimit -n; ulimit -Hn", (s) => {
      s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 }];
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1024\n2048\n");
  });

  test.skipIf(hostCanRaiseHardLimits === 1n)(
    "rlimits: a hard limit above the host's is refused with EPERM (skipped when husk holds CAP_SYS_RESOURCE)",
    async () => {
      const hard = hostNofileHard + 10000;
      const r = await runSh("echo should-not-run", (s) => {
        s.process!.rlimits = [
          { type: "RLIMIT_CORE", soft: 0, hard: 0 },
          { type: "RLIMIT_NOFILE", soft: 1024, hard },
        ];
      });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("process.rlimits[1]");
      expect(r.stderr).toContain("EPERM");
    },
  );

  test("capabilities: all five sets, for a non-root user", async () => {
    const r = await runSh("cat /proc/self/status", (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_NET_RAW"],
        permitted: ["CAP_CHOWN", "CAP_NET_RAW"],
        effective: ["CAP_CHOWN", "CAP_NET_RAW"],
        inheritable: ["CAP_NET_RAW"],
        ambient: ["CAP_NET_RAW"],
      };
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // After exec as uid 1000 without file capabilities, permitted and effective are the ambient set.
    const caps = Object.fromEntries(["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map((n) => [n, statusField(r.stdout, n)]));
    expect(caps).toEqual({
      CapInh: "0000000000002000",
      CapPrm: "0000000000002000",
      CapEff: "0000000000002000",
      CapBnd: "0000000000002001",
      CapAmb: "0000000000002000",
    });
  });

  test("capabilities: root's exec regains the bounding set, unless no_new_privs holds it to permitted", async () => {
    const capsOf = async (noNewPrivileges: boolean) => {
      const r = await runSh("cat /proc/self/status", (s) => {
        s.process!.noNewPrivileges = noNewPrivileges;
        s.process!.capabilities = {
          bounding: ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"],
          permitted: ["CAP_CHOWN", "CAP_KILL"],
          effective: ["CAP_CHOWN", "CAP_KILL"],
        };
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return Object.fromEntries(["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map((n) => [n, statusField(r.stdout, n)]));
    };
    expect(await capsOf(false)).toEqual({
      CapInh: "0000000000000000",
      CapPrm: "0000000000002021",
      CapEff: "0000000000002021",
      CapBnd: "0000000000002021",
      CapAmb: "0000000000000000",
    });
    expect(await capsOf(true)).toEqual({
      CapInh: "0000000000000000",
      CapPrm: "0000000000000021",
      CapEff: "0000000000000021",
      CapBnd: "0000000000002021",
      CapAmb: "0000000000000000",
    });
  });

  test("noNewPrivileges sets NoNewPrivs, and only when asked", async () => {
    const on = await runSh("grep NoNewPrivs /proc/self/status", (s) => {
      s.process!.noNewPrivileges = true;
    });
    expect(on.stdout).toBe("NoNewPrivs:\t1\n");
    const off = await runSh("grep NoNewPrivs /proc/self/status", (s) => {
      s.process!.noNewPrivileges = false;
    });
    expect(off.stdout).toBe("NoNewPrivs:\t0\n");
  });

  test("oomScoreAdj 500 reads back", async () => {
    const r = await runSh("cat /proc/self/oom_score_adj", (s) => {
      s.process!.oomScoreAdj = 500;
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("500\n");
  });

  test("personality LINUX32, scheduler SCHED_BATCH nice 7 and I/O priority idle", async () => {
    // /proc/<pid>/stat fields 19 and 41 are nice and policy (SCHED_BATCH is 3).
    const r = await runSh('uname -m; cut -d" " -f19,41 /proc/self/stat; ionice -p $$', (s) => {
      s.linux = { ...s.linux, personality: { domain: "LINUX32" } };
      s.process!.scheduler = { policy: "SCHED_BATCH", nice: 7 };
      s.process!.ioPriority = { class: "IOPRIO_CLASS_IDLE", priority: 0 };
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("i686\n7 3\nidle\n");
  });

  test("a schedule the kernel refuses (deadline after period) fails, naming process.scheduler", async () => {
    const r = await runSh("true", (s) => {
      s.process!.scheduler = { policy: "SCHED_DEADLINE", runtime: 1, deadline: 2, period: 1 };
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("set scheduling policy SCHED_DEADLINE (process.scheduler): invalid argument (EINVAL)");
  });

  test("linux.sysctl: net.ipv4.ip_forward=1 in the container's network namespace", async () => {
    const hostBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const r = await runSh("cat /proc/sys/net/ipv4/ip_forward", (s) => {
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostBefore);
  });

  test("linux.sysctl works when /proc/sys is not read-only (ip_forward=1)", async () => {
    const hostBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const r = await runSh("cat /proc/sys/net/ipv4/ip_forward", (s) => {
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
      s.linux!.readonlyPaths = s.linux!.readonlyPaths!.filter((p) => p !== "/proc/sys");
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostBefore);
  });

  test("the exit code passes through", async () => {
    const r = await runSh("exit 7");
    expect(r.code).toBe(7);
    expect(r.stderr).toBe("");
  });

  test("a container killed by SIGKILL gives 137", async () => {
    // No pid namespace: as pid 1 of its own namespace the shell could not be killed from inside.
    const r = await runSh("kill -KILL $$; echo survived", (s: Spec) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== "pid");
    });
    expect(r.stdout).toBe("");
    expect(r.code).toBe(137);
  });

  test("without a pid namespace, what the init leaves running is killed when run ends, and its cgroup goes", async () => {
    // The cgroup's rmdir is tried before its processes are looked for: it must refuse here,
    // and the processes be found and killed then.
    const parent = `husk-test-leftover-${process.pid}`;
    const r = await runSh("sleep 1000 & echo $!", (s: Spec) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== "pid");
      s.linux!.cgroupsPath = `/${parent}/c`;
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    expect(await ended(pid)).toBe(true);
    for (const h of readdirSync("/sys/fs/cgroup")) expect(existsSync(`/sys/fs/cgroup/${h}/${parent}`)).toBe(false);
  });

  for (const sig of ["SIGTERM", "SIGUSR1", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR2", "SIGWINCH"] as const) {
    test(`${sig} sent to husk reaches the container's init`, async () => {
      const name = sig.slice(3);
      const bundle = makeBundle([
        "sh",
        "-c",
        `trap "echo got-${name}; exit 10" ${name}; echo ready; while true; do sleep 0.05; done`,
      ]);
      const id = nextId();
      const run = spawnHusk(["run", "--bundle", bundle.dir, id]);
      try {
        // The trap is set once "ready" is out; husk forwards from before the container starts.
        await run.waitFor("ready");
        run.proc.kill(sig);
        const r = await run.finish();
        expect(r.stdout).toBe(`ready\ngot-${name}\n`);
        expect(r.code).toBe(10);
      } finally {
        run.proc.kill("SIGKILL");
        await run.proc.exited;
        await husk(["delete", "--force", id]);
        bundle.remove();
      }
    });
  }

  // `run` must catch the forwarded signals before the container starts: a signal arriving
  // between the exec and a late handler would kill husk and orphan the container. Sent at the
  // first byte of output, in 30 tries.
  test("a signal sent as soon as the container is up is still forwarded", async () => {
    const bundle = makeBundle(["sh", "-c", 'trap "echo got-TERM; exit 10" TERM; echo ready; while true; do sleep 0.05; done']);
    try {
      for (let i = 0; i < 30; i++) {
        const id = nextId();
        const proc = Bun.spawn([HUSK, "--root", TEST_ROOT, "run", "--bundle", bundle.dir, id], {
          stdio: ["ignore", "pipe", "ignore"],
        });
        try {
          const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
          let out = "";
          while (!out.includes("ready")) {
            const chunk = await reader.read();
            if (chunk.done) break;
            out += new TextDecoder().decode(chunk.value);
          }
          proc.kill("SIGTERM");
          expect(out).toStartWith("ready");
          const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
          const code = await proc.exited;
          clearTimeout(timer);
          expect({ try: i, code, signal: proc.signalCode }).toEqual({ try: i, code: 10, signal: null });
        } finally {
          proc.kill("SIGKILL");
          await proc.exited;
          await husk(["delete", "--force", id]);
        }
      }
    } finally {
      bundle.remove();
    }
  });

  describe("file descriptors", () => {
    /** Run `script` with a temp file as husk's fd 3; returns its output and the file's content. */
    async function withFd3(
      script: string,
      runFlags: string[],
      edit?: Parameters<typeof makeBundle>[1],
    ): Promise<{ stdout: string; stderr: string; code: number; file: string }> {
      const dir = mkdtempSync(join(tmpdir(), "husk-fd-"));
      const path = join(dir, "fd3");
      const fd = openSync(path, "w");
      const bundle = makeBundle(["sh", "-c", script], edit);
      const id = nextId();
      try {
        const run = spawnHusk(["run", ...runFlags, "--bundle", bundle.dir, id], { extraFds: [fd] });
        closeSync(fd);
        const r = await run.finish();
        return { ...r, file: readFileSync(path, "utf8") };
      } finally {
        await husk(["delete", "--force", id]);
        bundle.remove();
        rmSync(dir, { recursive: true, force: true });
      }
    }

    // `; true` keeps sh (pid 1) from exec'ing ls, so /proc/1/fd is the shell's, without ls's own.
    const script = "ls /proc/1/fd; true; echo via-fd3 >&3 || echo no-fd3";

    test("--preserve-fds 1 passes fd 3", async () => {
      const r = await withFd3(script, ["--preserve-fds", "1"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("0\n1\n2\n3\n");
      expect(r.file).toBe("via-fd3\n");
    });

    test("a hook run inside the container gets stdio only, not the preserved fds", async () => {
      const r = await withFd3(script, ["--preserve-fds", "1"], (spec) => {
        spec.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "ls /proc/$$/fd; true"] }] };
      });
      expect(r.code).toBe(0);
      // The hook's shell first (0, 1, 2), then the container's, which does get fd 3.
      expect(r.stdout).toBe("0\n1\n2\n0\n1\n2\n3\n");
      expect(r.file).toBe("via-fd3\n");
    });

    test("without --preserve-fds only 0, 1, 2 reach the container", async () => {
      const r = await withFd3(script, []);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("0\n1\n2\nno-fd3\n");
      expect(r.stderr).toMatch(/^sh: .*3.*\n$/); // fd 3 is not open inside
      expect(r.file).toBe("");
    });
  });
});

describeAsRoot("the helper's word on its child", () => {
  test("its start time, read by the helper's parent beside its setup (MSG_STARTED), is what /proc says", async () => {
    const { launch } = await import("../../src/helper/driver.ts");
    const { CloneMode } = await import("../../src/helper/wire.ts");
    const launched = await launch(
      [
        { what: "clone", op: { op: "clone", flags: 0, mode: CloneMode.Wait } },
        { what: "exec", op: { op: "exec", argv: ["/bin/sleep", "30"], env: [] } },
      ],
      { preserveFds: 0 },
    );
    try {
      const stat = readFileSync(`/proc/${launched.pid}/stat`, "utf8");
      expect(launched.startTime).toBe(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    } finally {
      process.kill(launched.pid, "SIGKILL");
      expect(await launched.exited).toBe(137);
    }
  });
});
