/**
 * Rootless: husk run by an unprivileged user (nobody, through runuser) with `husk spec
 * --rootless`'s spec: a user namespace mapping that user to root, no cgroup, no network
 * namespace. The whole lifecycle works, and nothing is made that needs privilege. And husk as
 * rootless podman runs it: root of a user namespace whose maps newuidmap wrote (setgroups still
 * allowed), with a spec that makes no user namespace of its own.
 */
import { afterEach, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/oci/types.ts";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK } from "../fixtures/husk.ts";
import { makeRootfs } from "../fixtures/rootfs.ts";

const NOBODY = 65534;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** husk as nobody, with its state under the bundle directory. */
function asNobody(dir: string, args: string[]): { code: number; stdout: string; stderr: string } {
  // A created container keeps create's stdio: give it none, or we would wait for its end.
  const stdio = args[0] === "create" ? "ignore" : "pipe";
  const r = spawnSync("runuser", ["-u", "nobody", "--", HUSK, "--root", join(dir, "state"), ...args], {
    encoding: "utf8",
    cwd: dir,
    timeout: 30000,
    stdio,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** A bundle owned by nobody, its config written by `husk spec --rootless` run as nobody. */
function rootlessBundle(args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "husk-rootless-"));
  dirs.push(dir);
  makeRootfs(join(dir, "rootfs"));
  spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
  const spec = asNobody(dir, ["spec", "--rootless"]);
  expect(spec.code).toBe(0);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Spec;
  config.process!.terminal = false;
  config.process!.args = args;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const husksCgroups = (id: string) =>
  readdirSync("/sys/fs/cgroup").filter((h) => existsSync(join("/sys/fs/cgroup", h, "husk", id)));

describeAsRoot("rootless (an unprivileged caller)", () => {
  test("run: root inside is nobody outside, and no cgroup is made", () => {
    const dir = rootlessBundle(["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    const id = nextId();
    try {
      const r = asNobody(dir, ["run", "--bundle", dir, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n")[0]).toBe("0");
      expect(r.stdout.split("\n")[1]?.trim().split(/\s+/)).toEqual(["0", String(NOBODY), "1"]);
      expect(husksCgroups(id)).toEqual([]);
    } finally {
      asNobody(dir, ["delete", "--force", id]);
    }
  });

  test("create, state, start, kill, delete", async () => {
    const dir = rootlessBundle(["sleep", "60"]);
    const id = nextId();
    try {
      expect(asNobody(dir, ["create", "--bundle", dir, id]).code).toBe(0);
      expect(JSON.parse(asNobody(dir, ["state", id]).stdout).status).toBe("created");
      expect(asNobody(dir, ["start", id]).code).toBe(0);
      expect(JSON.parse(asNobody(dir, ["state", id]).stdout).status).toBe("running");
      expect(asNobody(dir, ["kill", id, "KILL"]).code).toBe(0);
      for (let i = 0; i < 100 && JSON.parse(asNobody(dir, ["state", id]).stdout).status !== "stopped"; i++) {
        await Bun.sleep(20);
      }
      expect(asNobody(dir, ["delete", id]).code).toBe(0);
      expect(existsSync(join(dir, "state", id))).toBe(false);
    } finally {
      asNobody(dir, ["delete", "--force", id]);
    }
  });
  test("like rootless podman: root of a user namespace, no --root, XDG_RUNTIME_DIR set: state there, no cgroup", () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-podmanlike-"));
    dirs.push(dir);
    makeRootfs(join(dir, "rootfs"));
    const xdg = join(dir, "xdg");
    spawnSync("mkdir", ["-p", xdg]);
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
    const id = nextId();
    // As nobody, in a user namespace of its own where it is root (what podman does), the spec
    // made there (its ids are that namespace's), then the whole run with runc's defaults.
    const script = [
      `cd ${dir}`,
      `${HUSK} spec --rootless`,
      `sed -i 's/"terminal": true/"terminal": false/' config.json`,
      `sed -i 's/"sh"$/"sh", "-c", "id -u"/' config.json`,
      `${HUSK} run --bundle ${dir} ${id}`,
      `echo "status=$?"`,
      `ls ${xdg}/husk`,
    ].join("; ");
    const r = spawnSync(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        "unshare",
        "--user",
        "--map-root-user",
        "env",
        `XDG_RUNTIME_DIR=${xdg}`,
        "USER=nobody",
        "sh",
        "-c",
        script,
      ],
      { encoding: "utf8", timeout: 30000 },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("0\nstatus=0\n");
    expect(existsSync(join(xdg, "husk"))).toBe(true);
    expect(husksCgroups(id)).toEqual([]);
  });

  test("like rootless podman, no user namespace in the spec: devices bound, the caller's cgroups shown, exec sets the spec's groups", async () => {
    const dir = mkdtempSync(join(tmpdir(), "husk-podmanns-"));
    dirs.push(dir);
    const xdg = join(dir, "xdg");
    // podman's spec for `run --network none` as a rootless user: the namespaces of runc's
    // rootless spec plus a network one, and no user namespace (the container stays in podman's)
    const bundle = (name: string, args: string[]) => {
      const b = join(dir, name);
      makeRootfs(join(b, "rootfs"));
      spawnSync(HUSK, ["spec", "--rootless"], { cwd: b });
      const config = JSON.parse(readFileSync(join(b, "config.json"), "utf8")) as Spec;
      config.process!.terminal = false;
      config.process!.args = args;
      config.linux!.namespaces = [...config.linux!.namespaces!.filter((n) => n.type !== "user"), { type: "network" }];
      config.mounts!.push({
        destination: "/sys/fs/cgroup",
        type: "cgroup",
        source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
      });
      delete config.linux!.uidMappings;
      delete config.linux!.gidMappings;
      writeFileSync(join(b, "config.json"), JSON.stringify(config));
      return b;
    };
    const runBundle = bundle("run", ["sh", "-c", "test -c /dev/null && echo > /dev/null && echo devices-ok; ls /sys/fs/cgroup"]);
    const sleepBundle = bundle("sleep", ["sleep", "60"]);
    spawnSync("mkdir", ["-p", xdg]);
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
    const [run, sleeper] = [nextId(), nextId()];
    const script = [
      `${HUSK} run --bundle ${runBundle} ${run}`,
      `echo "run=$?"`,
      `${HUSK} create --bundle ${sleepBundle} ${sleeper} </dev/null >/dev/null 2>&1`,
      `${HUSK} start ${sleeper}`,
      `${HUSK} exec ${sleeper} grep Groups /proc/self/status`,
      `echo "exec=$?"`,
      `${HUSK} delete --force ${sleeper}`,
    ].join("; ");
    // A user namespace of nobody's whose maps root writes from outside, as newuidmap does for
    // podman: setgroups stays allowed. Inside, root with supplementary group 0 (the user's own
    // group, as podman's processes have it) runs husk with runc's defaults.
    const child = spawn(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        "unshare",
        "--user",
        "sh",
        "-c",
        'echo $$; read _; exec setpriv --reuid 0 --regid 0 --groups 0 env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin "$@"',
        "sh",
        `XDG_RUNTIME_DIR=${xdg}`,
        "USER=nobody",
        "sh",
        "-c",
        script,
      ],
      { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    try {
      for (let i = 0; i < 500 && !stdout.includes("\n"); i++) await Bun.sleep(10);
      const nsPid = Number.parseInt(stdout, 10);
      stdout = stdout.slice(stdout.indexOf("\n") + 1);
      for (const map of ["uid_map", "gid_map"]) writeFileSync(`/proc/${nsPid}/${map}`, `0 ${NOBODY} 1\n`);
      expect(readFileSync(`/proc/${nsPid}/setgroups`, "utf8").trim()).toBe("allow");
      child.stdin.end("go\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
      const code = await exited;
      clearTimeout(timer);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toContain("devices-ok\n");
      expect(stdout).toContain("run=0\n");
      // cgroup v1: with no cgroup of its own, the container sees the caller's (runc binds them)
      if (existsSync("/sys/fs/cgroup/pids/cgroup.procs")) expect(stdout).toContain("\npids\n");
      // the container's spec asks for no supplementary groups: exec must not keep husk's own
      expect(stdout).toMatch(/^Groups:[ \t]*\nexec=0$/m);
    } finally {
      child.kill("SIGKILL");
      for (const id of [run, sleeper]) spawnSync(HUSK, ["--root", join(xdg, "husk"), "delete", "--force", id]);
    }
  });
});
