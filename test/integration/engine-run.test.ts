/**
 * `husk run` in the foreground on the built-in busybox image: the image's config and the
 * flags reach the process, overlay writes stay in the container, exit codes pass through,
 * bad input leaves nothing, and a finished container leaves nothing behind after rm.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine run", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  const containers = () => {
    try {
      return readdirSync(join(w.dataRoot, "containers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  };

  test("the built-in busybox runs on a fresh data root; output, exit status, --rm", async () => {
    const r = await w.husk(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(3);
    expect(containers()).toEqual([]);
  });

  test("--rm: the CLI leaves the files to delete for the next run, which deletes them while its container runs", async () => {
    const removing = () => {
      try {
        return readdirSync(join(w.dataRoot, "containers", ".removing"));
      } catch {
        return [];
      }
    };
    expect((await w.husk(["run", "--rm", "--network", "none", "busybox", "true"])).code).toBe(0);
    const left = removing();
    expect(left.length).toBeGreaterThan(0);
    expect((await w.husk(["run", "--rm", "--network", "none", "busybox", "true"])).code).toBe(0);
    // What the first run left is gone; the second run's own waits for the next.
    expect(removing().filter((n) => left.includes(n))).toEqual([]);
    expect(removing()).toHaveLength(1);
  });

  test("env, workdir, user, hostname, entrypoint, read-only root, /etc files", async () => {
    const r = await w.husk([
      "run",
      "--rm",
      "--network=none",
      "-e",
      "A=1",
      "--env",
      "B=two words",
      "-w",
      "/tmp/x",
      "-u",
      "nobody",
      "--hostname",
      "box1",
      "--read-only",
      "--tmpfs",
      "/scratch",
      "busybox",
      "sh",
      "-c",
      'echo "$A|$B|$HOSTNAME|$(pwd)|$(id -u)|$(hostname)|$(cat /etc/hostname)"; touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs; grep -c box1 /etc/hosts',
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1|two words|box1|/tmp/x|65534|box1|box1\nro\ntmpfs\n1\n");
    const e = await w.husk(["run", "--rm", "--network", "none", "--entrypoint", "echo", "busybox", "via", "entrypoint"]);
    expect(e.stdout).toBe("via entrypoint\n");
  });

  test("docker's capabilities by default; --cap-drop, --cap-add, --privileged; masked paths", async () => {
    const capEff = async (...flags: string[]) => {
      const r = await w.husk([
        "run",
        "--rm",
        "--network",
        "none",
        ...flags,
        "busybox",
        "sh",
        "-c",
        "grep CapEff /proc/self/status",
      ]);
      return BigInt(`0x${r.stdout.trim().split(/\s+/)[1]}`);
    };
    expect(await capEff()).toBe(0xa80425fbn); // docker's 14
    expect(await capEff("--cap-drop", "ALL", "--cap-add", "NET_ADMIN")).toBe(1n << 12n);
    expect((await capEff("--privileged")) > 0xffffffffn).toBe(true);
    const m = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "wc -c < /proc/timer_list; echo x > /proc/sysrq-trigger || echo ro",
    ]);
    expect(m.stdout.replace(/\s+/g, " ").trim()).toBe("0 ro");
  });

  test("limits: --memory, --cpus, --pids-limit reach the cgroup", async () => {
    const r = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "--memory",
      "64m",
      "--cpus",
      "0.5",
      "--pids-limit",
      "50",
      "busybox",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(String(64 * 1024 * 1024));
    expect(r.stdout).toContain("50");
    expect(r.stdout).toContain("50000");
  });

  test("overlay: writes are invisible in the image and in a second container", async () => {
    const a = await w.husk([
      "run",
      "--name",
      "writer",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo mine > /etc/owned; rm /bin/ls; cat /etc/owned",
    ]);
    expect(a.stdout).toBe("mine\n");
    const b = await w.husk([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "cat /etc/owned 2>&1; test -e /bin/ls && echo ls-there",
    ]);
    expect(b.stdout).toContain("No such file");
    expect(b.stdout).toContain("ls-there");
    const ps = await w.husk(["ps", "-a", "--format", "json"]);
    const row = ps.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((c) => c.Names === "writer");
    expect(row.State).toBe("exited");
    expect(row.Status).toStartWith("Exited (0)");
    // docker's table format: a header line, escapes, aligned columns.
    const table = await w.husk(["ps", "-a", "--filter", "name=writer", "--format", "table {{.Names}}\\t{{.State}}"]);
    expect(table.stdout).toBe("NAMES    STATE\nwriter   exited\n");
    const id = (await w.engine.inspect("writer")).Id;
    expect((await w.husk(["rm", "writer"])).code).toBe(0);
    expect(w.leftovers(id)).toEqual([]);
  });

  test("a command that cannot run: 127 and 126, and nothing is left", async () => {
    const before = containers();
    const nf = await w.husk(["run", "--network", "none", "busybox", "no-such-command"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain("executable file not found");
    const na = await w.husk(["run", "--network", "none", "busybox", "/etc/passwd"]);
    expect(na.code).toBe(126);
    expect(containers()).toEqual(before);
  });

  test("bad input: one line, non-zero, nothing created", async () => {
    const before = containers();
    const cases: [string[], RegExp][] = [
      [["run", "no-such-image"], /unable to find image "no-such-image"/],
      [["run", "UPPER/Case"], /invalid reference|repository name/i],
      [["run", "--memory", "lots", "busybox"], /--memory: invalid size "lots"/],
      [["run", "--cpus", "-1", "busybox"], /--cpus: invalid CPU count/],
      [["run", "--frobnicate", "busybox"], /unknown flag: --frobnicate/],
      [["run", "-v", "/no/such/dir:/x", "busybox"], /bind source path does not exist/],
      [["run", "--network", "no-such-net", "busybox"], /network no-such-net does not exist/],
      [["run", "--cap-add", "CAP_FLY", "busybox"], /unknown capability/],
    ];
    for (const [args, re] of cases) {
      const r = await w.husk(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    const a = await w.husk(["run", "--name", "taken", "--network", "none", "busybox", "true"]);
    expect(a.code).toBe(0);
    const dup = await w.husk(["run", "--name", "taken", "--network", "none", "busybox", "true"]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain('the container name "/taken" is already in use');
    expect(containers().length).toBe(before.length + 1);
    await w.husk(["rm", "taken"]);
    expect(containers()).toEqual(before);
  });

  test("stdin with -i, none without", async () => {
    const r = await w.husk(["run", "--rm", "-i", "--network", "none", "busybox", "cat"], { stdin: "piped\n" });
    expect(r.stdout).toBe("piped\n");
    const n = await w.husk(["run", "--rm", "--network", "none", "busybox", "cat"], { stdin: "ignored\n" });
    expect(n.stdout).toBe("");
  });
});
