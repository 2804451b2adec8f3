/**
 * Namespaces, checked from inside the container against the host: each requested namespace is
 * new (and only those), each one isolates what it should, and namespaces pinned on the host
 * can be joined by path.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { LinuxNamespace, Spec } from "../../src/oci/types.ts";
import { nextId, runSh } from "../fixtures/container.ts";
import { describeAsRoot, husk, ourMounts, spawnHusk } from "../fixtures/husk.ts";
import { chownRootfs, makeBundle } from "../fixtures/rootfs.ts";

type NsType = LinuxNamespace["type"];

/** Spec namespace type → its file under /proc/<pid>/ns. */
const NS_FILE: Record<NsType, string> = {
  cgroup: "cgroup",
  ipc: "ipc",
  mount: "mnt",
  network: "net",
  pid: "pid",
  time: "time",
  user: "user",
  uts: "uts",
};
const ALL_TYPES = Object.keys(NS_FILE) as NsType[];

function setNamespaces(spec: Spec, types: NsType[]): void {
  spec.linux!.namespaces = types.map((type) => ({ type }));
  if (!types.includes("uts")) delete spec.hostname; // husk, like runc, refuses a hostname for the host's uts namespace
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describeAsRoot("namespaces", () => {
  test("uts: the hostname is spec.hostname, not the host's", async () => {
    const r = await runSh("hostname", (s) => {
      s.hostname = "husk-ns-test";
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("husk-ns-test\n");
    expect(hostname()).not.toBe("husk-ns-test");
  });

  test("pid: the container's shell is pid 1", async () => {
    const r = await runSh("echo $$");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n");
  });

  test("pid: ps shows only the container's processes", async () => {
    // `; true` keeps sh from exec'ing ps, so there are two processes: sh (1) and ps (2).
    const r = await runSh("ps -o pid,comm; true");
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(rows).toEqual([
      ["1", "sh"],
      ["2", "ps"],
    ]);
  });

  test("ipc: a SysV message queue made on the host is invisible inside", async () => {
    const made = sh("ipcmk", ["-Q"]);
    const qid = made.match(/(\d+)/)?.[1];
    expect(qid).toBeDefined();
    try {
      const inHost = readFileSync("/proc/sysvipc/msg", "utf8");
      expect(inHost.split("\n").some((l) => l.trim().split(/\s+/)[1] === qid)).toBe(true);
      // busybox has no ipcs; the kernel's table is what ipcs reads anyway.
      const script = "cat /proc/sysvipc/msg";
      const inside = await runSh(script);
      expect(inside.code).toBe(0);
      expect(inside.stdout.trim().split("\n")).toHaveLength(1); // the header only
      // Control: without an ipc namespace the queue is there.
      const shared = await runSh(script, (s) => setNamespaces(s, ["pid", "network", "uts", "mount"]));
      expect(shared.code).toBe(0);
      expect(shared.stdout.split("\n").some((l) => l.trim().split(/\s+/)[1] === qid)).toBe(true);
    } finally {
      spawnSync("ipcrm", ["-q", qid!]);
    }
  });

  test("mount: a mount made inside is invisible on the host", async () => {
    const before = ourMounts();
    const bundle = makeBundle(
      ["sh", "-c", "mount -t tmpfs husk-ns-probe /mnt && grep -c husk-ns-probe /proc/self/mountinfo && echo ready && read x"],
      (s, rootfs) => {
        mkdirSync(join(rootfs, "mnt"));
        const caps = s.process!.capabilities!;
        for (const set of [caps.bounding!, caps.permitted!, caps.effective!]) set.push("CAP_SYS_ADMIN");
      },
    );
    const id = nextId();
    const run = spawnHusk(["run", "--bundle", bundle.dir, id], { stdin: "pipe" });
    try {
      await run.waitFor("ready");
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("husk-ns-probe");
      expect(ourMounts()).toEqual(before);
      const stdin = run.proc.stdin as import("bun").FileSink;
      stdin.write("go\n");
      stdin.end();
      const r = await run.finish();
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("1\nready\n");
    } finally {
      run.proc.kill("SIGKILL");
      await run.proc.exited;
      await husk(["delete", "--force", id]);
      bundle.remove();
    }
    expect(ourMounts()).toEqual(before);
  });

  test("network: only lo", async () => {
    const r = await runSh("ip link");
    expect(r.code).toBe(0);
    const names = [...r.stdout.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1]);
    expect(names).toEqual(["lo"]);
  });

  const subsets: NsType[][] = [
    ["mount", "pid"],
    ["mount", "ipc", "uts"],
    ["mount", "network", "cgroup"],
    ["mount", "time"],
    ALL_TYPES,
  ];
  for (const types of subsets) {
    test(`exactly the requested namespaces are new: ${types.join(",")}`, async () => {
      const r = await runSh(
        `for t in ${Object.values(NS_FILE).join(" ")}; do echo $t $(readlink /proc/self/ns/$t); done`,
        (s, rootfs) => {
          setNamespaces(s, types);
          if (types.includes("user")) {
            s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
            s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
            chownRootfs(rootfs, 100000);
          }
        },
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const inside = Object.fromEntries(
        r.stdout
          .trim()
          .split("\n")
          .map((l) => l.split(" ")),
      );
      for (const type of ALL_TYPES) {
        const file = NS_FILE[type];
        const host = readlinkSync(`/proc/self/ns/${file}`);
        expect(inside[file]).toMatch(new RegExp(`^${file}:\\[\\d+\\]$`));
        if (types.includes(type)) expect({ type, inside: inside[file] }).not.toEqual({ type, inside: host });
        else expect({ type, inside: inside[file] }).toEqual({ type, inside: host });
      }
    });
  }

  test("network: joins a namespace pinned with ip netns", async () => {
    const name = `husk-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const path = `/run/netns/${name}`;
    sh("ip", ["netns", "add", name]);
    const before = ourMounts();
    try {
      const pinned = statSync(path).ino;
      const r = await runSh("readlink /proc/self/ns/net", (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === "network" ? { type: "network", path } : ns));
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`net:[${pinned}]\n`);
      expect(pinned).not.toBe(statSync("/proc/self/ns/net").ino);
      expect(ourMounts()).toEqual(before);
    } finally {
      spawnSync("ip", ["netns", "delete", name]);
    }
  });

  test("uts: joins a namespace pinned with unshare --uts=file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-uts-"));
    const file = join(dir, "utsfile");
    writeFileSync(file, "");
    const before = ourMounts();
    let mounted = false;
    try {
      sh("unshare", [`--uts=${file}`, "hostname", "pinned-name"]);
      mounted = true;
      const pinned = statSync(file).ino;
      const r = await runSh("hostname; readlink /proc/self/ns/uts", (s) => {
        delete s.hostname; // joining, not renaming, the pinned namespace
        s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === "uts" ? { type: "uts", path: file } : ns));
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`pinned-name\nuts:[${pinned}]\n`);
      expect(hostname()).not.toBe("pinned-name");
    } finally {
      if (mounted) spawnSync("umount", [file]);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(ourMounts()).toEqual(before);
  });

  test("time: linux.timeOffsets moves boottime (/proc/uptime)", async () => {
    const offset = 10 * 86400;
    const hostBefore = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const r = await runSh("cat /proc/uptime", (s) => {
      s.linux!.namespaces!.push({ type: "time" });
      s.linux!.timeOffsets = { monotonic: { secs: 3600 }, boottime: { secs: offset } };
    });
    const hostAfter = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const inside = Number(r.stdout.split(" ")[0]);
    expect(inside).toBeGreaterThanOrEqual(hostBefore + offset);
    expect(inside).toBeLessThanOrEqual(hostAfter + offset);
  });
});
