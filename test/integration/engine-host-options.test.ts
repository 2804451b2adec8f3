/**
 * docker's run flags that reach into the host or the spec: --device (the host node's numbers,
 * the device cgroup's permissions), --shm-size, --sysctl, --group-add, --cpuset-cpus,
 * --cpu-shares, --oom-score-adj, --pid/--uts/--ipc host, --mount (bind, volume, tmpfs), -P with
 * --expose and the image's ExposedPorts; and their bad values, named by flag, leaving nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { devNumbers } from "../../src/engine/devices.ts";
import { ended } from "../fixtures/container.ts";
import { type EngineWorld, engineWorld, importTestImage } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

describeAsRoot("engine host options", () => {
  let w: EngineWorld;
  let tmp: string;
  beforeAll(async () => {
    w = engineWorld();
    tmp = mkdtempSync(join(tmpdir(), "husk-hostopt-"));
    await importTestImage(w, tmp, "example.test/exposes:1", { ExposedPorts: { "80/tcp": {}, "53/udp": {} } });
  });
  afterAll(async () => {
    await w.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  const sh = (args: string[], script: string) =>
    w.husk(["run", "--rm", "--network", "none", ...args, "busybox", "sh", "-c", script]);

  test("--device makes the host's node; its permissions bound what the cgroup allows", async () => {
    const { major, minor } = devNumbers(statSync("/dev/fuse").rdev);
    const ls = await sh(["--device", "/dev/fuse:/dev/myfuse"], "stat -c '%t %T' /dev/myfuse");
    expect(ls.stdout.trim()).toBe(`${major.toString(16)} ${minor.toString(16)}`);
    const ro = await sh(["--device", "/dev/fuse:r"], "echo x > /dev/fuse && echo wrote || echo refused");
    expect(ro.stdout).toBe("refused\n");
    expect(ro.stderr).toContain("Operation not permitted");
    expect((await sh([], "test -e /dev/fuse && echo there || echo absent")).stdout).toBe("absent\n");
  });

  test("--shm-size, --sysctl, --group-add, --oom-score-adj, --cpuset-cpus, --cpu-shares", async () => {
    const r = await sh(
      [
        "--shm-size",
        "8m",
        "--sysctl",
        "kernel.shmmax=1234567",
        "--group-add",
        "nobody",
        "--group-add",
        "7",
        "--oom-score-adj",
        "300",
        "--cpuset-cpus",
        "0",
        "--cpu-shares",
        "512",
      ],
      "df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/kernel/shmmax; id -G; cat /proc/self/oom_score_adj; cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus; cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || echo 512",
    );
    expect(r.stdout.split("\n")).toEqual(["8192", "1234567", "0 7 65534", "300", "0", "512", ""]);
  });

  test("--pid host, --uts host, --ipc host share the host's namespaces", async () => {
    const marker = `husk-ipc-test-${process.pid}`;
    writeFileSync(`/dev/shm/${marker}`, "");
    try {
      const r = await sh(
        ["--pid", "host", "--uts", "host", "--ipc", "host"],
        `cat /proc/1/comm; hostname; ls /dev/shm/${marker}`,
      );
      const [init, name, shm] = r.stdout.trim().split("\n");
      // Its PID 1 is the host's, not its own sh.
      expect(init).toBe(readFileSync("/proc/1/comm", "utf8").trim());
      expect(name).toBe(hostname());
      expect(shm).toBe(`/dev/shm/${marker}`);
    } finally {
      rmSync(`/dev/shm/${marker}`, { force: true });
    }
  });

  test("--pid host: what the container leaves running is killed when it ends, and its cgroup goes", async () => {
    // The run's helper reaps the container and tries its cgroup first (cgroupRemoveOnExit):
    // that must refuse with a process left in it, and husk find and kill it, then remove it.
    const ours = () =>
      readdirSync("/sys/fs/cgroup").flatMap((h) => {
        try {
          return readdirSync(`/sys/fs/cgroup/${h}/husk`, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => `${h}/husk/${e.name}`);
        } catch {
          return [];
        }
      });
    const before = new Set(ours());
    const r = await sh(["--pid", "host"], "sleep 1000 & echo $!");
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    expect(await ended(pid)).toBe(true);
    expect(ours().filter((d) => !before.has(d))).toEqual([]);
  });

  test("--mount: bind (read-only), an anonymous volume, a sized tmpfs", async () => {
    const r = await sh(
      [
        "--mount",
        `type=bind,src=${tmp},dst=/host,readonly`,
        "--mount",
        "type=volume,target=/anon",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
      ],
      "touch /host/x 2>/dev/null && echo rw || echo ro; grep -c ' /anon ' /proc/mounts; df -k /t | tail -1 | awk '{print $2}'",
    );
    expect(r.stdout).toBe("ro\n1\n1024\n");
    expect(w.engine.volumes.list()).toEqual([]); // --rm took the anonymous volume
  });

  test("-P publishes the image's ExposedPorts and --expose on random host ports", async () => {
    const net = await w.network("x");
    const r = await w.husk([
      "run",
      "-d",
      "--name",
      "pub",
      "--network",
      net.name,
      "-P",
      "--expose",
      "8080",
      "-p",
      "127.0.0.1::80",
      "example.test/exposes:1",
      "sleep",
      "60",
    ]);
    expect(r.code).toBe(0);
    const ports = (await w.engine.port("pub")).map((p) => `${p.containerPort}/${p.proto}`).sort();
    expect(ports).toEqual(["53/udp", "80/tcp", "8080/tcp"]);
    await w.husk(["rm", "-f", "pub"]);
    const none = await w.husk(["run", "--rm", "--network", "none", "-P", "example.test/exposes:1", "true"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("--publish-all");
  });

  test("bad values are named by their flag and leave nothing", async () => {
    writeFileSync(join(tmp, "plain-file"), "");
    const cases: [string[], string][] = [
      [["--device", "/nonexistent"], "--device"],
      [["--device", "/dev/fuse:rx"], "--device"],
      [["--device", join(tmp, "plain-file")], "not a device node"],
      [["--shm-size", "lots"], "--shm-size"],
      [["--sysctl", "kernel.hostname"], "sysctl"],
      [["--pid", "container:x"], "--pid"],
      [["--group-add", "no-such-group"], "unable to find group"],
      [["--cpuset-cpus", "a-b"], "--cpuset-cpus"],
      [["--cpu-shares", "1"], "--cpu-shares"],
      [["--oom-score-adj", "5000"], "--oom-score-adj"],
      [["--expose", "http"], "--expose"],
      [["--mount", "type=bind,target=/x"], "--mount"],
      [["--mount", "source=v"], "--mount"],
    ];
    for (const [args, says] of cases) {
      const r = await w.husk(["run", "--rm", "--network", "none", ...args, "busybox", "true"]);
      expect({ args, code: r.code }).toEqual({ args, code: 125 });
      expect(r.stderr).toContain(says);
    }
    expect((await w.engine.list({ all: true })).length).toBe(0);
  });
});
