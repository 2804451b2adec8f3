/**
 * docker's default security on engine containers, checked from inside: the default seccomp
 * filter (a static C probe, bound into busybox, makes the syscalls and prints what the kernel
 * answered), seccomp=unconfined and --privileged without it, --cap-add SYS_ADMIN unlocking
 * unshare, a profile file, no-new-privileges, --ulimit applied and refused, and --uidmap's
 * user namespace over the image's layers.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shiftedLayers } from "../../src/engine/idmap-layers.ts";
import { type EngineWorld, engineWorld } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

/** Each argument names a call; the probe prints `name:ok` or `name:ERRNO` for each. */
const PROBE_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc) {
  if (rc < 0) printf("%s:%s\\n", name, strerrorname_np(errno));
  else printf("%s:ok\\n", name);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *c = argv[i];
    long rc = 0;
    if (!strcmp(c, "unshare0")) rc = unshare(0); /* needs no capability: only a filter refuses it */
    else if (!strcmp(c, "keyctl")) rc = syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
    else if (!strcmp(c, "add_key")) rc = syscall(SYS_add_key, "user", "husk-probe", "v", 1, -3);
    else if (!strcmp(c, "personality0")) rc = personality(0);
    else if (!strcmp(c, "personality_query")) rc = personality(0xffffffff);
    else if (!strcmp(c, "personality_rie")) { rc = personality(READ_IMPLIES_EXEC); if (rc >= 0) personality(0); }
    else if (!strcmp(c, "clone3")) rc = syscall(SYS_clone3, NULL, 0);
    else if (!strcmp(c, "vsock")) { rc = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0); if (rc >= 0) close(rc); }
    else if (!strcmp(c, "mkdir")) rc = mkdir("/tmp/probe-dir", 0755);
    else { fprintf(stderr, "unknown call %s\\n", c); return 2; }
    report(c, rc);
  }
  return 0;
}
`;

const CALLS = ["unshare0", "keyctl", "add_key", "personality0", "personality_query", "personality_rie", "clone3", "vsock"];

/** The probe's answers as {call: "ok" | errno name}. */
function answers(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((l) => l.split(":") as [string, string]),
  );
}

describeAsRoot("engine security", () => {
  let w: EngineWorld;
  let dir: string;
  const probe = () => ["-v", `${dir}:/probe:ro`];
  const run = (flags: string[], cmd: string[], opts?: { timeoutMs?: number }) =>
    w.husk(["run", "--rm", "--network", "none", ...flags, "busybox", ...cmd], opts);
  const containers = () => {
    try {
      return readdirSync(join(w.dataRoot, "containers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  };

  beforeAll(() => {
    w = engineWorld();
    dir = mkdtempSync(join(tmpdir(), "husk-probe-"));
    writeFileSync(join(dir, "probe.c"), PROBE_C);
    const cc = spawnSync("gcc", ["-static", "-O1", "-o", join(dir, "probe"), join(dir, "probe.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);
  });
  afterAll(async () => {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("default: Seccomp 2; what docker's profile blocks gets EPERM, clone3 ENOSYS; the rest works", async () => {
    const r = await run(probe(), ["sh", "-c", `grep '^Seccomp:' /proc/self/status; /probe/probe ${CALLS.join(" ")}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [status, ...rest] = r.stdout.trim().split("\n");
    expect(status).toMatch(/^Seccomp:\s+2$/);
    expect(answers(rest.join("\n"))).toEqual({
      unshare0: "EPERM",
      keyctl: "EPERM",
      add_key: "EPERM",
      personality0: "ok",
      personality_query: "ok",
      personality_rie: "EPERM",
      clone3: "ENOSYS",
      vsock: "EPERM",
    });
    // A capability that unlocks nothing in the profile changes nothing.
    const net = await run([...probe(), "--cap-add", "NET_ADMIN"], ["/probe/probe", "unshare0", "keyctl"]);
    expect(answers(net.stdout)).toEqual({ unshare0: "EPERM", keyctl: "EPERM" });
    // The built CLI keeps each converted profile (per build, kernel and capability set); a run
    // that reads it back answers as the one that made it (the second run above read one).
    const cached = readdirSync(join(w.stateRoot, "@seccomp-default"));
    expect(cached.length).toBeGreaterThanOrEqual(2);
    const again = await run(probe(), ["/probe/probe", "unshare0", "personality0"]);
    expect(answers(again.stdout)).toEqual({ unshare0: "EPERM", personality0: "ok" });
  });

  test("seccomp=unconfined and --privileged: no filter", async () => {
    for (const flags of [["--security-opt", "seccomp=unconfined"], ["--privileged"]]) {
      const r = await run(
        [...probe(), ...flags],
        ["sh", "-c", `grep '^Seccomp:' /proc/self/status; /probe/probe ${CALLS.join(" ")}`],
      );
      expect(r.code).toBe(0);
      const [status, ...rest] = r.stdout.trim().split("\n");
      expect(status).toMatch(/^Seccomp:\s+0$/);
      const a = answers(rest.join("\n"));
      expect([flags, a.unshare0, a.keyctl, a.add_key, a.personality_rie]).toEqual([flags, "ok", "ok", "ok", "ok"]);
      expect(a.clone3).not.toBe("ENOSYS"); // the kernel's own answer to a NULL clone_args
    }
  });

  test("--cap-add SYS_ADMIN unlocks unshare -m, as docker", async () => {
    const denied = await run([], ["unshare", "-m", "true"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Operation not permitted");
    const allowed = await run(["--cap-add", "SYS_ADMIN"], ["sh", "-c", "unshare -m true && echo ok"]);
    expect(allowed.stderr).toBe("");
    expect(allowed.stdout).toBe("ok\n");
  });

  test("ordinary work under the filter: shell, pipes, a server and wget over 127.0.0.1, exec", async () => {
    const script =
      "mkdir -p /www && echo hello > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && " +
      "wget -q -O - http://127.0.0.1:8080/ && seq 1 100 | sort -rn | head -1 && ps | grep -c httpd >/dev/null && echo done";
    const r = await run([], ["sh", "-c", script]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello\n100\ndone\n");
    // A process exec'd into the container gets the filter too.
    const d = await w.husk(["run", "-d", "--network", "none", "busybox", "sleep", "30"]);
    expect(d.code).toBe(0);
    const id = d.stdout.trim();
    try {
      const e = await w.husk(["exec", id, "grep", "^Seccomp:", "/proc/self/status"]);
      expect(e.stdout).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      await w.husk(["rm", "-f", id]);
    }
  });

  test("a profile file in docker's format; a bad one names the file and field and leaves nothing", async () => {
    const file = join(dir, "no-mkdir.json");
    writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
        syscalls: [
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
          { names: ["keyctl"], action: "SCMP_ACT_ERRNO", includes: { caps: ["CAP_SYS_ADMIN"] } },
        ],
      }),
    );
    const r = await run([...probe(), "--security-opt", `seccomp=${file}`], ["/probe/probe", "mkdir", "keyctl", "unshare0"]);
    expect(r.stderr).toBe("");
    expect(answers(r.stdout)).toEqual({ mkdir: "EACCES", keyctl: "ok", unshare0: "ok" });
    // As docker: --privileged drops the default filter, not one the caller names.
    const priv = await run([...probe(), "--privileged", "--security-opt", `seccomp=${file}`], ["/probe/probe", "mkdir"]);
    expect(answers(priv.stdout)).toEqual({ mkdir: "EACCES" });
    // The library takes the same file, or the profile itself.
    const lib = await w.engine.run("busybox", ["/probe/probe", "mkdir", "keyctl"], {
      network: "none",
      volumes: [`${dir}:/probe:ro`],
      capabilities: { add: ["SYS_ADMIN"] },
      seccomp: file,
    });
    expect(answers(lib.stdout as string)).toEqual({ mkdir: "EACCES", keyctl: "EPERM" });

    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOPE" }] }),
    );
    const b = await run(["--security-opt", `seccomp=${bad}`], ["true"]);
    expect(b.code).toBe(125);
    expect(b.stderr.trim()).toBe(`husk: --security-opt: ${bad}: syscalls[0].action: unknown action "SCMP_ACT_NOPE"`);
    writeFileSync(bad, "{ not json");
    const j = await run(["--security-opt", `seccomp=${bad}`], ["true"]);
    expect(j.code).toBe(125);
    expect(j.stderr).toContain(`${bad}: not JSON`);
    const m = await run(["--security-opt", `seccomp=${join(dir, "missing.json")}`], ["true"]);
    expect(m.stderr).toContain("missing.json: no such file");
    expect(containers()).toEqual([]);
  });

  test("no-new-privileges; apparmor= and label= accepted with a warning", async () => {
    const r = await run(["--security-opt", "no-new-privileges"], ["grep", "^NoNewPrivs:", "/proc/self/status"]);
    expect(r.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    const off = await run([], ["grep", "^NoNewPrivs:", "/proc/self/status"]);
    expect(off.stdout).toMatch(/^NoNewPrivs:\s+0$/m);
    const warned = await run(["--security-opt", "apparmor=unconfined", "--security-opt", "label=disable"], ["echo", "ran"]);
    expect(warned.stdout).toBe("ran\n");
    expect(warned.stderr).toContain("--security-opt apparmor=unconfined ignored: this host has no AppArmor");
    expect(warned.stderr).toContain("--security-opt label=disable ignored: this host has no SELinux");
    // docker inspect's HostConfig shows what was asked.
    const d = await w.husk(
      ["run", "-d", "--network", "none", "--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges"].concat([
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=-1",
        "--uidmap",
        "0:100000:65536",
        "busybox",
        "sleep",
        "30",
      ]),
    );
    expect(d.stderr).toBe("");
    const id = d.stdout.trim();
    try {
      const [info] = JSON.parse((await w.husk(["inspect", id])).stdout);
      expect(info.HostConfig.SecurityOpt).toEqual(["seccomp=unconfined", "no-new-privileges=true"]);
      expect(info.HostConfig.Ulimits).toEqual([
        { Name: "nofile", Soft: 100, Hard: 200 },
        { Name: "core", Soft: -1, Hard: -1 },
      ]);
      expect([info.HostConfig.UidMap, info.HostConfig.GidMap]).toEqual([["0:100000:65536"], ["0:100000:65536"]]);
    } finally {
      await w.husk(["rm", "-f", id]);
    }
  });

  test("--ulimit applied; past the hard limit refused naming the ulimit, nothing left", async () => {
    const r = await run(["--ulimit", "nofile=1000:2000", "--ulimit", "core=0"], ["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000\n2000\n0\n");
    // docker passes no rlimits: the container inherits husk's.
    const inherited = await run([], ["sh", "-c", "ulimit -Hn"]);
    const own = /^Max open files\s+\d+\s+(\d+)/m.exec(await Bun.file("/proc/self/limits").text())![1];
    expect(inherited.stdout.trim()).toBe(own!);
    // Above this process's hard limit, without CAP_SYS_RESOURCE.
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(await Bun.file("/proc/self/status").text())![1]}`);
    const above = String(Number(own) + 10000);
    const refused = await run(["--ulimit", `nofile=${above}`], ["true"]);
    if ((capEff >> 24n) & 1n) {
      expect(refused.code).toBe(0); // CAP_SYS_RESOURCE: root may raise it
    } else {
      expect(refused.code).toBe(125);
      expect(refused.stderr.trim()).toBe(
        `husk: --ulimit: ulimit nofile=${above}:${above}: operation not permitted: a hard limit above husk's own needs CAP_SYS_RESOURCE, which this process lacks (EPERM)`,
      );
      const detached = await w.husk(["run", "-d", "--network", "none", "--ulimit", `nofile=${above}`, "busybox", "true"]);
      expect(detached.code).toBe(125);
      expect(detached.stderr).toContain("--ulimit: ulimit nofile=");
    }
    expect(containers()).toEqual([]);
    expect(readdirSync(w.stateRoot).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]);
    const bad = await run(["--ulimit", "nofiles=10"], ["true"]);
    expect(bad.stderr.trim()).toBe(
      'husk: --ulimit: unknown ulimit "nofiles": one of as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack',
    );
  });

  test("--uidmap/--gidmap: root of a user namespace owns the image's files and can write /", async () => {
    const r = await run(
      ["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
      [
        "sh",
        "-c",
        "id; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g %a' /bin/busybox /etc/passwd /etc/hosts; touch /x && echo wrote; stat -c '%u:%g' /x",
      ],
    );
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toStartWith("uid=0(root) gid=0(root)");
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(lines.slice(3)).toEqual(["0:0 755", "0:0 644", "0:0 644", "wrote", "0:0"]);
    // The library: uidMap alone maps groups the same way.
    const lib = await w.engine.run("busybox", ["sh", "-c", "cat /proc/self/gid_map"], {
      network: "none",
      uidMap: [{ containerId: 0, hostId: 200000, size: 65536 }],
    });
    expect(lib.stderr).toBe("");
    expect((lib.stdout as string).split("\n")[0]!.trim().split(/\s+/)).toEqual(["0", "200000", "65536"]);
    // Detached (the container's root opens exec.fifo under the state root), and exec joins it.
    const d = await w.husk(["run", "-d", "--network", "none", "--uidmap", "0:100000:65536", "busybox", "sleep", "30"]);
    expect(d.stderr).toBe("");
    const id = d.stdout.trim();
    try {
      const e = await w.husk(["exec", id, "sh", "-c", "cat /proc/self/uid_map; touch /y && echo wrote"]);
      expect(e.stdout.trim().split(/\s+/)).toEqual(["0", "100000", "65536", "wrote"]);
    } finally {
      await w.husk(["rm", "-f", id]);
    }
    expect(w.leftovers(id)).toEqual([]);
    // The bridge network works from inside a user namespace too (its netns belongs to it).
    const net = await w.husk([
      "run",
      "--rm",
      "--uidmap",
      "0:100000:65536",
      "busybox",
      "sh",
      "-c",
      "ip -4 addr show eth0 | grep -c inet",
    ]);
    expect(net.stderr).toBe("");
    expect(net.stdout).toBe("1\n");
    expect(containers()).toEqual([]);
  });

  test("the layers' copies: every id shifted once (hard links too), set-id bits kept, symlinks not followed", async () => {
    const layer = join(dir, "layer");
    mkdirSync(join(layer, "bin"), { recursive: true });
    writeFileSync(join(layer, "bin/tool"), "x");
    chmodSync(join(layer, "bin/tool"), 0o4755);
    linkSync(join(layer, "bin/tool"), join(layer, "bin/tool-link"));
    writeFileSync(join(layer, "owned"), "y");
    chownSync(join(layer, "owned"), 1000, 50);
    writeFileSync(join(layer, "outside"), "z");
    chownSync(join(layer, "outside"), 70000, 70000);
    symlinkSync("/etc/passwd", join(layer, "escape"));
    const passwd = lstatSync("/etc/passwd");
    const [copy] = await shiftedLayers(
      [layer],
      join(dir, "copies"),
      [{ containerID: 0, hostID: 1000, size: 65536 }],
      [{ containerID: 0, hostID: 2000, size: 65536 }],
    );
    const st = (p: string) => lstatSync(join(copy!, p));
    expect([st("bin/tool").uid, st("bin/tool").gid, st("bin/tool").mode & 0o7777]).toEqual([1000, 2000, 0o4755]);
    expect(st("bin/tool-link").ino).toBe(st("bin/tool").ino);
    expect([st("owned").uid, st("owned").gid]).toEqual([2000, 2050]);
    expect([st("outside").uid, st("outside").gid]).toEqual([70000, 70000]); // unmapped: nobody inside
    expect([st("escape").uid, st("escape").isSymbolicLink()]).toEqual([1000, true]);
    expect([lstatSync("/etc/passwd").uid, lstatSync("/etc/passwd").mode]).toEqual([passwd.uid, passwd.mode]);
  });
});
