/**
 * Housekeeping: `husk system df` counts what is on disk, the prune verbs remove what nothing
 * uses (and ask first), `system reset` leaves nothing of the engine on the host — also after a
 * crash — and a `run -d` killed at any point leaves nothing `system prune -f` (and `rm -f` of a
 * container that got to run) cannot take. Every world has its own roots, table and bridges, so
 * reset here only ever touches the world's own.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.ts";
import { hostVethName } from "../../src/network/links.ts";
import { type EngineWorld, engineWorld, HUSK_ENGINE, until } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";
import { prng } from "../fixtures/prng.ts";

const links = () => readdirSync("/sys/class/net");
const tables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
const mountsUnder = (root: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(`${root}/`));
const cgroupsOf = (id: string) =>
  readdirSync("/sys/fs/cgroup")
    .map((h) => join("/sys/fs/cgroup", h, "husk", id))
    .filter((d) => existsSync(d));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Alive and not a zombie (an init whose monitor died is reaped by pid 1, in its time). */
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !["Z", "X"].includes(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return false;
  }
};

/** Ids of the world's container directories (a record or not). */
const containerDirs = (w: EngineWorld) => {
  const dir = join(w.dataRoot, "containers");
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)) : [];
};

describeAsRoot("engine system", () => {
  let w: EngineWorld;
  beforeAll(() => {
    w = engineWorld();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  test("system df: counts, sizes and reclaimable space as docker prints them; -v and --format json", async () => {
    const run = await w.husk(["run", "-d", "--network", "none", "--name", "up", "-v", "used:/data", "busybox", "sleep", "60"]);
    expect(run.code).toBe(0);
    // 256 KiB written to the writable layer of a container that exits.
    const done = await w.husk([
      "run",
      "--rm=false",
      "--network",
      "none",
      "--name",
      "done",
      "busybox",
      "dd",
      "if=/dev/zero",
      "of=/big",
      "bs=1024",
      "count=256",
    ]);
    expect(done.code).toBe(0);
    expect((await w.husk(["volume", "create", "spare"])).code).toBe(0);
    const u = await w.engine.df();
    const row = (t: string) => u.rows.find((r) => r.type === t)!;
    expect(row("Images")).toMatchObject({ total: 1, active: 1, reclaimable: 0 });
    expect(row("Images").size).toBeGreaterThan(500_000);
    expect(row("Containers")).toMatchObject({ total: 2, active: 1 });
    const exited = u.containers.find((c) => c.name === "done")!;
    expect(exited.size).toBeGreaterThanOrEqual(256 * 1024);
    expect(row("Containers").reclaimable).toBe(exited.size);
    expect(row("Local Volumes")).toMatchObject({ total: 2, active: 1 });
    expect(row("Build Cache")).toEqual({ type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0 });
    expect(u.containers.find((c) => c.name === "up")!.volumes).toEqual(["used"]);

    const table = await w.husk(["system", "df"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(lines[1]).toMatch(/^Images\s+1\s+1\s+[\d.]+[kMG]?B\s+0B \(0%\)$/);
    expect(lines[2]).toMatch(/^Containers\s+2\s+1\s+[\d.]+[kM]?B\s+[\d.]+kB \(\d+%\)$/);
    expect(lines[4]).toMatch(/^Build Cache\s+0\s+0\s+0B\s+0B$/);
    const json = (await w.husk(["system", "df", "--format", "json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(json.map((j) => j.Type)).toEqual(["Images", "Containers", "Local Volumes", "Build Cache"]);
    expect(json[1]).toMatchObject({ TotalCount: "2", Active: "1" });
    const verbose = await w.husk(["system", "df", "-v"]);
    expect(verbose.stdout).toContain("Images space usage:");
    expect(verbose.stdout).toMatch(/\ndone\n|\bdone$/m);
    expect((await w.husk(["system", "df", "--format", "yaml"])).stderr).toContain("--format");
    expect((await w.husk(["rm", "-f", "up", "done"])).code).toBe(0);
    expect((await w.husk(["volume", "rm", "used", "spare"])).code).toBe(0);
  });

  test("prune verbs: ask first (nothing removed unanswered), keep what is used, say what went", async () => {
    const net = await w.network("p");
    const spare = await w.network("q");
    expect(
      (await w.husk(["run", "-d", "--network", net.name, "--name", "keep", "-v", "named:/n", "busybox", "sleep", "60"])).code,
    ).toBe(0);
    expect((await w.husk(["run", "--rm=false", "--network", "none", "--name", "gone", "busybox", "true"])).code).toBe(0);
    expect((await w.husk(["create", "--network", "none", "--name", "made", "busybox", "true"])).code).toBe(0);
    const anon = (await w.husk(["volume", "create"])).stdout.trim();
    expect((await w.husk(["volume", "create", "idle"])).code).toBe(0);

    // No -f, stdin at its end: cancelled, non-zero, nothing removed.
    const refused = await w.husk(["container", "prune"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("Are you sure you want to continue? [y/N] ");
    expect(refused.stderr).toContain("cancelled");
    expect((await w.engine.list({ all: true })).length).toBe(3);
    expect((await w.husk(["container", "prune"], { stdin: "n\n" })).code).toBe(1);

    const pruned = await w.husk(["container", "prune"], { stdin: "y\n" });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain("Deleted Containers:\n");
    expect(pruned.stdout).toMatch(/Total reclaimed space: [\d.]+[kM]?B\n$/);
    expect((await w.engine.list({ all: true })).map((c) => c.name)).toEqual(["keep"]);
    // What the CLI's removals left for a later run to delete is deleted by the prune itself.
    expect(
      existsSync(join(w.dataRoot, "containers", ".removing")) ? readdirSync(join(w.dataRoot, "containers", ".removing")) : [],
    ).toEqual([]);

    const vols = await w.husk(["volume", "prune", "-f"]);
    expect(vols.stdout).toMatch(new RegExp(`^Deleted Volumes:\n${anon}\n\nTotal reclaimed space: [\\d.]+kB\n$`));
    expect(
      w.engine.volumes
        .list()
        .map((v) => v.Name)
        .sort(),
    ).toEqual(["idle", "named"]);
    expect((await w.husk(["volume", "prune", "-a", "-f"])).stdout).toContain("Deleted Volumes:\nidle\n");
    expect(w.engine.volumes.list().map((v) => v.Name)).toEqual(["named"]);

    const nets = await w.husk(["network", "prune", "-f"]);
    expect(nets.stdout).toBe(`Deleted Networks:\n${spare.name}\n\n`);
    expect(links()).not.toContain(spare.bridge);
    expect(links()).toContain(net.bridge);

    // system prune: the running container, its network and volume stay.
    const sys = await w.husk(["system", "prune", "-f", "--volumes"]);
    expect(sys.code).toBe(0);
    expect(sys.stdout).toBe("Total reclaimed space: 0B\n");
    expect((await w.husk(["image", "prune", "-a", "-f"])).stdout).toBe("Total reclaimed space: 0B\n");
    expect((await w.husk(["rm", "-f", "keep"])).code).toBe(0);
    const all = await w.husk(["system", "prune", "-a", "-f"]);
    expect(all.stdout).toContain(`Deleted Networks:\n${net.name}\n`);
    expect(all.stdout).toContain("Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:");
    expect(all.stdout).toMatch(/Total reclaimed space: [\d.]+MB\n$/);
    expect(w.engine.networks.list()).toEqual([]);
    expect(await w.engine.images.list()).toEqual([]);
    await expect(w.engine.prune({ volumes: "yes" as never })).rejects.toThrow("PruneOptions.volumes: must be a boolean");
    expect((await w.husk(["system", "prune", "x"])).stderr).toContain("accepts no arguments");
  });

  test("prune while runs are being made: a run in progress is not taken from under it", async () => {
    const net = await w.network("c");
    for (let i = 0; i < 4; i++) {
      const run = w.husk(["run", "-d", "--network", net.name, "--name", `busy${i}`, "busybox", "sleep", "30"]);
      let done = false;
      void run.then(() => {
        done = true;
      });
      let prunes = 0;
      while (!done) {
        await w.engine.prune({ containers: true });
        prunes++;
        await Bun.sleep(2); // the run's output is read by this event loop too
      }
      const r = await run;
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(prunes).toBeGreaterThan(1);
      expect((await w.engine.inspect(`busy${i}`)).State.Status).toBe("running");
    }
    for (let i = 0; i < 4; i++) await w.engine.remove(`busy${i}`, { force: true });
  });

  test("run -d SIGKILLed at seeded points: system prune -f (and rm -f of one that got to run) leaves nothing", async () => {
    const net = await w.network("k");
    // How long an undisturbed run -d takes here (the image made and the network up already):
    // the kills are spread over that time.
    let runMs = 0;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const probe = await w.husk(["run", "-d", "--network", net.name, "busybox", "sleep", "30"]);
      runMs = performance.now() - t0;
      expect(probe.code).toBe(0);
      expect((await w.husk(["rm", "-f", probe.stdout.trim()])).code).toBe(0);
    }
    const seen: Record<string, number> = {};
    const random = prng(20261206);
    const failures: string[] = [];
    for (let cycle = 0; cycle < 16; cycle++) {
      const delay = random() * runMs * 1.1;
      const name = `k${cycle}`;
      const proc = Bun.spawn([HUSK_ENGINE, "run", "-d", "--network", net.name, "--name", name, "busybox", "sleep", "30"], {
        env: w.env,
        stdio: ["ignore", "ignore", "ignore"],
      });
      await Bun.sleep(delay);
      proc.kill("SIGKILL");
      await proc.exited;
      const ids = containerDirs(w);
      const veths = ids.flatMap((id) => [0, 1].map((k) => hostVethName(net.name, id, `eth${k}`)));
      for (const id of ids) {
        let status = "no record";
        try {
          status = JSON.parse(readFileSync(join(w.dataRoot, "containers", id, "config.json"), "utf8")).status;
        } catch {}
        seen[status] = (seen[status] ?? 0) + 1;
      }
      const prune = await w.husk(["system", "prune", "-f"]);
      // A container that got to run is a running container: prune keeps it, rm -f takes it.
      const left = await w.engine.list({ all: true });
      const notRunning = left.filter((c) => c.state !== "running");
      for (const c of left) await w.husk(["rm", "-f", c.id]);
      const rest = ids.flatMap((id) => w.leftovers(id, veths).map((l) => `${id.slice(0, 12)} ${l}`));
      if (containerDirs(w).length > 0) rest.push(`container dirs ${containerDirs(w).join(" ")}`);
      if (prune.code !== 0 || notRunning.length > 0 || rest.length > 0)
        failures.push(
          `cycle ${cycle} (kill after ${delay.toFixed(0)} ms): prune ${prune.code} ${prune.stderr.trim()}; not pruned ${notRunning.map((c) => c.state)}; left ${rest.join(", ")}`,
        );
      // The network is unused now: system prune took it; the next cycle wants it back.
      if (!w.engine.networks.list().some((n) => n.name === net.name))
        await w.husk(["network", "create", "--subnet", net.subnet, "--bridge", net.bridge, net.name]);
    }
    console.log(`killed run -d: records found ${JSON.stringify(seen)}`);
    expect(failures).toEqual([]);
    // The kills landed in the making, not only before it began or after it ran.
    expect((seen.creating ?? 0) + (seen.created ?? 0)).toBeGreaterThan(0);
    expect(w.engine.networks.inspect(net.name).leases).toEqual([]);
  }, 240000);

  test("Engine.reset: the default network's bridge (a name of the world's here, husk0 by default) and a running container on it go", async () => {
    // The world's own /24 (test/fixtures/engine.ts), past the /28s its networks take.
    const h = [...w.id].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
    const bridge = `hkd${w.id}`.slice(0, 15);
    const engine = new Engine({
      dataRoot: w.dataRoot,
      stateRoot: w.stateRoot,
      nftTable: w.table,
      ipForward: false,
      defaultNetwork: { bridge, subnet: `10.${200 + (h % 50)}.${(h >>> 8) % 250}.224/28` },
    });
    const box = await engine.start("busybox", ["sleep", "60"], { network: "bridge" });
    const veth = engine.record(box.id).networks[0]!.hostVeth;
    expect(links()).toContain(bridge);
    expect(links()).toContain(veth);
    await engine.reset();
    expect(links()).not.toContain(bridge);
    expect(links()).not.toContain(veth);
    expect(running(box.pid)).toBe(false);
    expect(tables()).not.toContain(`table inet ${w.table}`);
    expect(readdirSync(w.dataRoot)).toEqual([]);
    expect(cgroupsOf(box.id)).toEqual([]);
  });

  test("system reset after a crash: nothing of the world's is left on the host (links, table, mounts, cgroups, state, files)", async () => {
    const net = await w.network("r");
    const a = await w.husk([
      "run",
      "-d",
      "--network",
      net.name,
      "-p",
      "127.0.0.1::80",
      "--name",
      "a",
      "-v",
      "v:/v",
      "busybox",
      "sleep",
      "60",
    ]);
    expect(a.code).toBe(0);
    const b = await w.husk(["run", "-d", "--network", net.name, "--name", "b", "busybox", "sleep", "60"]);
    expect(b.code).toBe(0);
    const ida = a.stdout.trim();
    const idb = b.stdout.trim();
    const recA = w.engine.record(ida);
    const recB = w.engine.record(idb);
    expect(tables()).toContain(`table inet ${w.table}`);
    // The crash: b's monitor dies; a record half written; a mount and a veth no record names.
    process.kill(recB.monitorPid!, "SIGKILL");
    await until(() => !alive(recB.monitorPid!), 5000, "monitor gone");
    const ghost = "f".repeat(64);
    const ghostDir = join(w.dataRoot, "containers", ghost);
    mkdirSync(join(ghostDir, "rootfs"), { recursive: true });
    writeFileSync(join(ghostDir, "config.json"), '{"version":1,"id":"ffff');
    execFileSync("mount", ["-t", "tmpfs", "husk-test-leftover", join(ghostDir, "rootfs")]);
    const ghostVeth = hostVethName(net.name, ghost, "eth0");
    execFileSync("ip", ["link", "add", ghostVeth, "type", "veth", "peer", "name", `hkp${w.id}`.slice(0, 15)]);
    // A damaged network record: the store's spare copy still names the bridge.
    writeFileSync(join(w.dataRoot, "networks", `${net.name}.json`), "{ torn");
    try {
      const reset = await w.husk(["system", "reset", "-f"]);
      // The torn network file is warned about (rm -f of each container cannot detach by it); nothing else.
      expect(reset.stderr).toMatch(/^(husk: warning: .*corrupt network file.*\n)*$/);
      expect(reset.code).toBe(0);
      const now = links();
      for (const l of [
        net.bridge,
        ghostVeth,
        `hkp${w.id}`.slice(0, 15),
        ...[recA, recB].flatMap((r) => r.networks.map((n) => n.hostVeth)),
      ])
        expect(now).not.toContain(l);
      expect(tables()).not.toContain(`table inet ${w.table}`);
      expect(mountsUnder(w.dataRoot)).toEqual([]);
      expect([...cgroupsOf(ida), ...cgroupsOf(idb)]).toEqual([]);
      for (const r of [recA, recB]) expect(running(r.pid)).toBe(false);
      expect(readdirSync(w.dataRoot)).toEqual([]);
      expect(readdirSync(w.stateRoot)).toEqual([]);
      // A fresh engine on the same roots works, and a second reset has nothing to do.
      expect((await w.husk(["run", "--network", "none", "busybox", "true"])).code).toBe(0);
      expect((await w.husk(["system", "reset", "-f"])).code).toBe(0);
      expect(readdirSync(w.dataRoot)).toEqual([]);
    } finally {
      try {
        execFileSync("umount", ["-l", join(ghostDir, "rootfs")], { stdio: "ignore" });
      } catch {}
      try {
        execFileSync("ip", ["link", "del", ghostVeth], { stdio: "ignore" });
      } catch {}
    }
  }, 120000);
});
