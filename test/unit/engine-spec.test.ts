/** Image config + run options → OCI spec, and the docker inspect shape: pure. */
import { describe, expect, test } from "bun:test";
import { inspectShape } from "../../src/engine/inspect.ts";
import { checkRunOptions } from "../../src/engine/options.ts";
import type { ContainerRecord } from "../../src/engine/records.ts";
import { buildSpec, capabilities, DOCKER_CAPS, mergeEnv, resolveCommand, volumeMounts } from "../../src/engine/spec.ts";
import { parseSpec } from "../../src/oci/validate.ts";

describe("command and environment", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default"], Env: ["PATH=/bin", "A=image"] };
  test("docker's entrypoint and cmd rules", () => {
    expect(resolveCommand(image, []).args).toEqual(["default"]);
    expect(resolveCommand(image, ["x"])).toMatchObject({ path: "/entry", args: ["x"] });
    expect(resolveCommand(image, [], ["/other"])).toMatchObject({ path: "/other", args: [] });
    expect(resolveCommand({ Cmd: ["sh"] }, [])).toMatchObject({ path: "sh", args: [] });
    expect(() => resolveCommand({}, [])).toThrow(/no command specified/);
  });
  test("env: image, HOSTNAME, caller's; later wins; PATH always", () => {
    expect(mergeEnv(image.Env, "h", ["A=mine"])).toEqual(["PATH=/bin", "A=mine", "HOSTNAME=h"]);
    expect(mergeEnv([], "h", [])[0]).toStartWith("PATH=");
  });
  test("capabilities", () => {
    const o = (x: object) => ({ capAdd: [], capDrop: [], privileged: false, ...x });
    expect(capabilities(o({}))).toEqual(DOCKER_CAPS);
    expect(capabilities(o({ capDrop: ["ALL"], capAdd: ["CAP_NET_ADMIN"] }))).toEqual(["CAP_NET_ADMIN"]);
    expect(capabilities(o({ capDrop: ["CAP_KILL"] }))).not.toContain("CAP_KILL");
    expect(capabilities(o({ privileged: true }), ["CAP_CHOWN", "CAP_KILL"])).toEqual(["CAP_CHOWN", "CAP_KILL"]);
  });
});

describe("buildSpec", () => {
  const base = {
    id: "c".repeat(64),
    image: {},
    argv: ["sh"],
    env: ["PATH=/bin"],
    cwd: "/",
    user: { uid: 0, gid: 0 },
    hostname: "h1",
    rootfs: "/data/c/rootfs",
    dnsFiles: { hosts: "/d/hosts", hostname: "/d/hostname", resolvConf: "/d/resolv.conf" },
    mounts: volumeMounts([{ hostPath: "/v", target: "/data", readOnly: true }], [{ target: "/t", options: "size=1m" }]),
    network: { kind: "new" as const },
    opts: checkRunOptions({ memory: "64m", cpus: 1.5, pidsLimit: 10, readOnly: true }),
  };
  test("a valid OCI spec with docker's defaults and the run's settings", () => {
    const spec = buildSpec(base);
    expect(() => parseSpec(structuredClone(spec), { rootless: false, onWarning: () => {} })).not.toThrow();
    expect(spec.root).toEqual({ path: "/data/c/rootfs", readonly: true });
    expect(spec.hostname).toBe("h1");
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "network"]);
    expect(spec.linux?.resources?.memory?.limit).toBe(64 * 1024 ** 2);
    expect(spec.linux?.resources?.cpu).toEqual({ quota: 150000, period: 100000 });
    expect(spec.linux?.resources?.pids?.limit).toBe(10);
    expect(spec.linux?.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux?.readonlyPaths).toContain("/proc/sys");
    const dests = spec.mounts?.map((m) => m.destination);
    expect(dests).toContain("/etc/hosts");
    expect(spec.mounts?.find((m) => m.destination === "/data")?.options).toContain("ro");
    expect(spec.mounts?.find((m) => m.destination === "/t")?.options).toContain("size=1m");
  });
  test("host network and a joined namespace; privileged", () => {
    expect(buildSpec({ ...base, network: { kind: "host" } }).linux?.namespaces?.some((n) => n.type === "network")).toBe(false);
    expect(buildSpec({ ...base, network: { kind: "host" } }).hostname).toBeUndefined();
    const joined = buildSpec({ ...base, network: { kind: "path", path: "/run/netns/x" } });
    expect(joined.linux?.namespaces?.find((n) => n.type === "network")?.path).toBe("/run/netns/x");
    const p = buildSpec({ ...base, opts: checkRunOptions({ privileged: true }) });
    expect(p.linux?.maskedPaths).toEqual([]);
    expect(p.linux?.resources?.devices).toEqual([{ allow: true, access: "rwm" }]);
  });
});

describe("inspect", () => {
  const rec: ContainerRecord = {
    version: 1,
    id: "a".repeat(64),
    name: "web",
    image: "busybox",
    imageId: "sha256:1",
    created: "2024-01-01T00:00:00.000Z",
    path: "httpd",
    args: ["-f"],
    config: {
      hostname: "aaaaaaaaaaaa",
      env: ["PATH=/bin"],
      cwd: "/",
      user: "",
      entrypoint: [],
      cmd: ["httpd", "-f"],
      labels: {},
    },
    hostConfig: {
      autoRemove: false,
      networkMode: "net1",
      portBindings: [{ containerPort: 80, hostPort: 0, hostIp: "127.0.0.1", proto: "tcp" }],
      memory: 0,
      cpus: 0,
      pidsLimit: 0,
      capAdd: [],
      capDrop: [],
      privileged: false,
      readOnly: false,
    },
    stateRoot: "/run/husk",
    nftTable: "husk",
    detached: true,
    status: "running",
    pid: 42,
    pidStartTime: "1",
    startedAt: "2024-01-01T00:00:01.000Z",
    network: "net1",
    networks: [
      {
        network: "net1",
        ifname: "eth0",
        address: "10.0.0.2",
        prefix: 24,
        gateway: "10.0.0.1",
        mac: "02:00:00:00:00:01",
        hostVeth: "husk-x",
        ports: [{ proto: "tcp", hostIp: "127.0.0.1", hostPort: 32768, containerPort: 80 }],
      },
    ],
    mounts: [{ type: "volume", name: "v", source: "/var/lib/husk/volumes/v/_data", destination: "/data", rw: true }],
  };
  test("docker's shape: State, Config, Mounts, NetworkSettings", () => {
    const i = inspectShape(rec, { status: "running" }, { dir: "/d", logPath: "/d/container.log" });
    expect(i.Name).toBe("/web");
    expect(i.State).toMatchObject({ Status: "running", Running: true, Pid: 42, ExitCode: 0, FinishedAt: "0001-01-01T00:00:00Z" });
    expect(i.NetworkSettings.Ports["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "32768" }]);
    expect(i.NetworkSettings.Networks.net1?.IPAddress).toBe("10.0.0.2");
    expect(i.Mounts[0]).toMatchObject({ Type: "volume", Name: "v", Destination: "/data", RW: true });
    expect(i.Config.Cmd).toEqual(["httpd", "-f"]);
    expect(i.Config.Entrypoint).toBeNull();
    const stopped = inspectShape(
      rec,
      { status: "exited", exitCode: 137, finishedAt: "2024-01-01T00:01:00Z" },
      { dir: "/d", logPath: "" },
    );
    expect(stopped.State).toMatchObject({ Status: "exited", Running: false, Pid: 0, ExitCode: 137 });
    expect(stopped.NetworkSettings.IPAddress).toBe("");
  });
});
