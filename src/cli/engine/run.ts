import { readFileSync } from "node:fs";
import { HuskError, quote } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { forwardSignals } from "../forward-signals.ts";
import type { Flag, Values } from "./args.ts";
import { parseMountFlag } from "./mount-flag.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

export const RUN_FLAGS: Flag[] = [
  { name: "detach", short: "d", type: "bool", help: "run in the background and print the container's id" },
  { name: "rm", type: "bool", help: "remove the container when it exits" },
  { name: "name", type: "string", help: "a name for the container" },
  { name: "env", short: "e", type: "list", help: "set an environment variable (NAME=value, or NAME from husk's environment)" },
  { name: "env-file", type: "list", help: "read environment variables from a file" },
  { name: "workdir", short: "w", type: "string", help: "working directory inside the container" },
  { name: "user", short: "u", type: "string", help: "user (name|uid[:group|gid])" },
  { name: "hostname", short: "h", type: "string", help: "the container's hostname" },
  { name: "entrypoint", type: "string", help: "replace the image's entrypoint" },
  {
    name: "network",
    type: "string",
    aliases: ["net"],
    help: 'network: "bridge" (default), "none", "host", "ns:PATH", "container:NAME" or a name',
  },
  { name: "network-alias", type: "list", help: "another name for the container on its user network" },
  { name: "add-host", type: "list", help: "add a line to /etc/hosts: NAME:IP (IP may be host-gateway)" },
  { name: "dns", type: "list", help: "a nameserver for /etc/resolv.conf instead of the host's" },
  { name: "dns-search", type: "list", help: 'a search domain for /etc/resolv.conf ("." for none)' },
  { name: "dns-option", type: "list", aliases: ["dns-opt"], help: "a resolver option for /etc/resolv.conf (e.g. ndots:2)" },
  { name: "publish", short: "p", type: "list", help: "publish a port: [[ip:]hostPort:]containerPort[/proto]" },
  { name: "volume", short: "v", type: "list", help: "bind a host path or named volume: SOURCE:/path[:ro]" },
  { name: "tmpfs", type: "list", help: "mount a tmpfs: /path[:options]" },
  { name: "memory", short: "m", type: "string", help: "memory limit (e.g. 512m)" },
  { name: "cpus", type: "string", help: "number of CPUs (e.g. 0.5)" },
  { name: "pids-limit", type: "int", help: "most processes in the container (-1: unlimited)" },
  { name: "cap-add", type: "list", help: "add a capability" },
  { name: "cap-drop", type: "list", help: "drop a capability" },
  { name: "privileged", type: "bool", help: "every capability, no masked paths, every device" },
  { name: "read-only", type: "bool", help: "mount the root filesystem read-only" },
  { name: "security-opt", type: "list", help: "seccomp=unconfined|FILE, no-new-privileges[=true|false], apparmor=…, label=…" },
  { name: "ulimit", type: "list", help: "a resource limit: NAME=SOFT[:HARD] (nofile, nproc, core, memlock, stack …)" },
  { name: "uidmap", type: "list", help: "a user namespace mapping uids: CONTAINER:HOST:COUNT" },
  { name: "gidmap", type: "list", help: "its gids: CONTAINER:HOST:COUNT (default as --uidmap)" },
  { name: "init", type: "bool", help: "run a minimal init as PID 1 that forwards signals and reaps zombies" },
  { name: "mount", type: "list", help: "type=bind|volume|tmpfs,source=…,target=…[,readonly] (docker's --mount)" },
  { name: "device", type: "list", help: "a host device in the container: HOST[:CONTAINER][:rwm]" },
  { name: "shm-size", type: "string", help: "size of /dev/shm (default 64m)" },
  { name: "sysctl", type: "list", help: "a namespaced sysctl: NAME=VALUE" },
  { name: "pid", type: "string", help: '"host": the host\'s pid namespace' },
  { name: "ipc", type: "string", help: '"host": the host\'s IPC namespace and /dev/shm' },
  { name: "uts", type: "string", help: '"host": the host\'s UTS namespace (its hostname)' },
  { name: "group-add", type: "list", help: "another group for the process (name or gid)" },
  { name: "cpuset-cpus", type: "string", help: "CPUs it may use (0-2, 0,3)" },
  { name: "cpu-shares", short: "c", type: "int", help: "CPU weight against other containers (default 1024)" },
  { name: "oom-score-adj", type: "int", help: "the OOM killer's preference (-1000 to 1000)" },
  { name: "expose", type: "list", help: "another port it listens on, for -P: PORT[/udp]" },
  { name: "publish-all", short: "P", type: "bool", help: "publish every exposed port on a random host port" },
  { name: "restart", type: "string", help: "start it again when it ends (-d): no, always, unless-stopped, on-failure[:N]" },
  { name: "label", short: "l", type: "list", help: "set a label: KEY=VALUE" },
  { name: "stop-signal", type: "string", help: "what stop sends first (default the image's, else SIGTERM)" },
  { name: "stop-timeout", type: "int", help: "seconds stop waits before SIGKILL (default 10)" },
  { name: "interactive", short: "i", type: "bool", help: "keep stdin open" },
  { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-terminal (proxied to this one; with -d, logged)" },
  { name: "detach-keys", type: "string", help: 'with -it, the keys that detach and leave it running (default "ctrl-p,ctrl-q")' },
];

/** -e NAME=value, -e NAME (taken from husk's environment if set, else left out), --env-file lines. */
export function envOf(flags: Values): string[] {
  const out: string[] = [];
  const add = (e: string) => {
    if (e.includes("=")) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  };
  for (const file of (flags["env-file"] as string[] | undefined) ?? []) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new HuskError(
        `open ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message}`,
      );
    }
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      add(line);
    }
  }
  for (const e of (flags.env as string[] | undefined) ?? []) add(e);
  return out;
}

/** run's and create's flags as the library's options. */
export function runOptionsOf(f: Values) {
  const mounts = ((f.mount as string[] | undefined) ?? []).map(parseMountFlag);
  return {
    name: f.name as string | undefined,
    env: envOf(f),
    cwd: f.workdir as string | undefined,
    user: f.user as string | undefined,
    hostname: f.hostname as string | undefined,
    entrypoint: f.entrypoint as string | undefined,
    network: f.network as string | undefined,
    networkAliases: f["network-alias"] as string[] | undefined,
    addHosts: f["add-host"] as string[] | undefined,
    dns: f.dns as string[] | undefined,
    dnsSearch: f["dns-search"] as string[] | undefined,
    dnsOptions: f["dns-option"] as string[] | undefined,
    ports: f.publish as string[] | undefined,
    volumes: [...((f.volume as string[] | undefined) ?? []), ...mounts.flatMap((m) => ("volume" in m ? [m.volume] : []))],
    tmpfs: [...((f.tmpfs as string[] | undefined) ?? []), ...mounts.flatMap((m) => ("tmpfs" in m ? [m.tmpfs] : []))],
    devices: f.device as string[] | undefined,
    shmSize: f["shm-size"] as string | undefined,
    sysctls: f.sysctl as string[] | undefined,
    pid: f.pid as "host" | undefined,
    ipc: f.ipc as "host" | undefined,
    uts: f.uts as "host" | undefined,
    groupAdd: f["group-add"] as string[] | undefined,
    cpusetCpus: f["cpuset-cpus"] as string | undefined,
    cpuShares: f["cpu-shares"] as number | undefined,
    oomScoreAdj: f["oom-score-adj"] as number | undefined,
    expose: f.expose as string[] | undefined,
    publishAll: f["publish-all"] === true,
    memory: f.memory as string | undefined,
    cpus: f.cpus as string | undefined,
    pidsLimit: f["pids-limit"] as number | undefined,
    capabilities: { add: (f["cap-add"] as string[]) ?? [], drop: (f["cap-drop"] as string[]) ?? [] },
    privileged: f.privileged === true,
    readOnly: f["read-only"] === true,
    securityOpt: f["security-opt"] as string[] | undefined,
    ulimits: f.ulimit as string[] | undefined,
    labels: f.label as string[] | undefined,
    restart: f.restart as string | undefined,
    stopSignal: f["stop-signal"] as string | undefined,
    stopTimeout: f["stop-timeout"] as number | undefined,
    uidMap: f.uidmap as string[] | undefined,
    gidMap: f.gidmap as string[] | undefined,
    init: f.init === true,
    remove: f.rm === true,
  };
}

/** The library's option names in messages become the flags the user typed. */
const FLAG_OF: Record<string, string> = {
  memory: "--memory",
  cpus: "--cpus",
  pidsLimit: "--pids-limit",
  volumes: "--volume",
  ports: "--publish",
  tmpfs: "--tmpfs",
  name: "--name",
  user: "--user",
  cwd: "--workdir",
  hostname: "--hostname",
  "capabilities.add": "--cap-add",
  "capabilities.drop": "--cap-drop",
  network: "--network",
  networkAliases: "--network-alias",
  addHosts: "--add-host",
  dns: "--dns",
  dnsSearch: "--dns-search",
  dnsOptions: "--dns-option",
  env: "--env",
  entrypoint: "--entrypoint",
  securityOpt: "--security-opt",
  seccomp: "--security-opt",
  noNewPrivileges: "--security-opt",
  ulimits: "--ulimit",
  uidMap: "--uidmap",
  gidMap: "--gidmap",
  detachKeys: "--detach-keys",
  labels: "--label",
  restart: "--restart",
  stopSignal: "--stop-signal",
  stopTimeout: "--stop-timeout",
  devices: "--device",
  shmSize: "--shm-size",
  sysctls: "--sysctl",
  pid: "--pid",
  ipc: "--ipc",
  uts: "--uts",
  groupAdd: "--group-add",
  cpusetCpus: "--cpuset-cpus",
  cpuShares: "--cpu-shares",
  oomScoreAdj: "--oom-score-adj",
  expose: "--expose",
  publishAll: "--publish-all",
};

export function flagMessage(err: unknown): unknown {
  const origin = err instanceof HuskError ? /^(?:Run|Attach|Update)Options\.(.+)$/.exec(err.origin ?? "") : null;
  if (!origin) return err;
  const flag = FLAG_OF[(origin[1] as string).replace(/\[\d+\]$/, "")];
  return flag
    ? new HuskError((err as HuskError).message.replace(/^(?:Run|Attach|Update)Options\.[\w.]+(\[\d+\])?: /, `${flag}: `))
    : err;
}

const verb: EngineVerb = {
  name: "run",
  usage: "[options] IMAGE [COMMAND] [ARG...]",
  summary: "create and run a new container from an image",
  flags: RUN_FLAGS,
  command: true,
  async run(p, g) {
    const [image, ...cmd] = needArgs(p, 1, "run");
    const f = p.flags;
    const opts = runOptionsOf(f);
    // The CLI's flag names in messages, not the library's option names.
    const engine = await engineOf(g);
    if (image === undefined || image === "") throw new HuskError(`invalid reference format: ${quote(image ?? "")}`);
    if (f.detach) {
      // With -t the monitor holds the pty's master and logs what the container writes to it.
      const box = await engine
        .start(image, cmd, { ...opts, tty: f.tty === true, interactive: f.interactive === true })
        .catch((err) => {
          throw flagMessage(err);
        });
      stdout(`${box.id}\n`);
      return 0;
    }
    // Signals that reach husk go to the container, from before it exists (queued) on.
    const forwarder = forwardSignals();
    try {
      const r = await engine.run(image, cmd, {
        ...opts,
        stdio: "inherit",
        interactive: f.interactive === true,
        tty: f.tty === true,
        detachKeys: f["detach-keys"] as string | undefined,
        onStart: (_id, pid) => forwarder.target(pid),
      });
      return r.exitCode;
    } catch (err) {
      throw flagMessage(err);
    } finally {
      forwarder.stop();
    }
  },
};
export default verb;
