/**
 * What each runtime verb loads when the CLI starts. containerd's shim and conmon start the
 * runtime 4–6 times per container, so a module (or a `node:` builtin: node:fs alone costs
 * Bun ~1.3 ms) that a verb does not use is paid for on every call. These lists pin each
 * verb's modules: a change that adds one fails here, and either the import is made lazy or
 * the list is updated on purpose.
 *
 * The CLI runs from the sources with a preload (fixtures/record-modules.ts) that records
 * every husk module loaded; builtins are read from those modules' static imports. The
 * container is a fake one, a state.json under a temp --root for a `sleep` process, so
 * no root is needed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/bun/bin/bun.exe");

let root: string;
let sleeper: ReturnType<typeof Bun.spawn>;
/** The inits of the containers `delete --force` kills. */
let victim: ReturnType<typeof Bun.spawn>;
let hostPidVictim: ReturnType<typeof Bun.spawn>;

/**
 * Write the state of a container `id` whose init is `pid` (no cgroup, as a rootless one), in
 * the host's pid namespace unless `ownPidNs`.
 */
function fakeContainer(id: string, pid: number, ownPidNs = false): void {
  // pid 0: a stopped container.
  const stat = pid > 0 ? readFileSync(`/proc/${pid}/stat`, "utf8") : ") 0";
  const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  mkdirSync(join(root, id), { recursive: true });
  const state = {
    ociVersion: "1.2.0",
    id,
    pid,
    pidStartTime: startTime,
    bundle: root,
    rootfs: join(root, "rootfs"),
    created: new Date(0).toISOString(),
    owner: "",
    cgroupPaths: {},
    spec: { ociVersion: "1.2.0", root: { path: "rootfs" }, linux: { namespaces: ownPidNs ? [{ type: "pid" }] : [] } },
  };
  writeFileSync(join(root, id, "state.json"), JSON.stringify(state));
  writeFileSync(join(root, id, "cgroup.json"), JSON.stringify({ paths: {}, created: [] }));
}

/** The husk modules and node: builtins `husk-runtime <args>` loads, and its exit status. */
function loads(
  args: string[],
  face: string[] = ["husk-runtime", "--root", root],
  env: Record<string, string> = {},
): { modules: string[]; builtins: string[]; status: number | null } {
  const out = join(root, `modules-${Math.random()}.json`);
  const run = spawnSync(
    BUN,
    ["--preload", join(REPO, "test/fixtures/record-modules.ts"), join(REPO, "src/cli/husk.ts"), ...face, ...args],
    { env: { ...process.env, ...env, HUSK_RECORD_MODULES: out }, stdio: ["ignore", "ignore", "ignore"] },
  );
  const modules = JSON.parse(readFileSync(out, "utf8")) as string[];
  const builtins = new Set<string>();
  for (const m of modules) {
    for (const [, name] of readFileSync(join(REPO, m), "utf8").matchAll(/^import [^;]*?from "node:(\w+)";$/gms)) {
      builtins.add(name as string);
    }
  }
  return { modules, builtins: [...builtins].sort(), status: run.status };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "husk-startup-"));
  sleeper = Bun.spawn(["sleep", "60"]);
  victim = Bun.spawn(["sleep", "60"]);
  hostPidVictim = Bun.spawn(["sleep", "60"]);
});

afterAll(() => {
  sleeper.kill("SIGKILL");
  victim.kill("SIGKILL");
  hostPidVictim.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** What every runtime verb loads: argument parsing, the Runtime object, state and status. */
const COMMON = [
  "src/cgroups/dir.ts",
  "src/cgroups/errors.ts",
  "src/cgroups/freezer.ts",
  "src/cgroups/fsio.ts",
  "src/cli/args.ts",
  "src/cli/husk.ts",
  "src/cli/log.ts",
  "src/cli/main.ts",
  "src/cli/verb.ts",
  "src/errors.ts",
  "src/helper/path.ts",
  "src/package-root.ts",
  "src/runtime/container-id.ts",
  "src/runtime/default-root.ts",
  "src/runtime/exec-process.ts",
  "src/runtime/preserve-fds.ts",
  "src/runtime/proc.ts",
  "src/runtime/runtime.ts",
  "src/runtime/signals.ts",
  "src/runtime/state.ts",
  "src/runtime/status.ts",
  "src/sys/files.ts",
  "src/sys/index.ts",
  "src/sys/jit.ts",
  "src/sys/posix-path.ts",
  "src/sys/stdio.ts",
  "src/trace.ts",
];

/** Never loaded by these verbs: the create pipeline, the stats reader, the engine's modules. */
const NEVER = [
  /^src\/seccomp\//,
  /^src\/plan\//,
  /^src\/oci\/(schema|validate|rules)\.ts$/,
  /^src\/cgroups\/stats\.ts$/,
  /^src\/(engine|image|network)\//,
  /^src\/cli\/engine\//,
];

/**
 * The cgroup module without its stats reader: delete --force of a container in the host's pid
 * namespace kills every process in its cgroup.
 */
const CGROUP = [
  "src/cgroups/cgroup.ts",
  "src/cgroups/convert.ts",
  "src/cgroups/device-filter.ts",
  "src/cgroups/devices.ts",
  "src/cgroups/layout.ts",
  "src/cgroups/paths.ts",
  "src/cgroups/planned-dir.ts",
  "src/cgroups/set.ts",
  "src/cgroups/validate.ts",
  "src/runtime/cgroup-setup.ts",
  "src/sys/mountinfo.ts",
];

const DELETE = [
  "src/cli/delete.ts",
  "src/runtime/cgroup-remove.ts",
  "src/runtime/delete.ts",
  "src/sys/bun-libc.ts",
  "src/sys/flock-wait.ts",
];

interface Case {
  args: string[];
  /** The fake container the verb acts on, made just before: its id, its init's pid, and whether it has a pid namespace. */
  container?: [string, () => number, boolean?];
  modules: string[];
  builtins: string[];
  /** The verb's exit status: it ran its whole path (start refuses a running container). */
  status: number;
}

// No builtin at load: node:path's functions are posix-path.ts' (node:path costs the compiled
// CLI 0.5–0.9 ms); node:os is fetched where a signal or errno is named
// (process.getBuiltinModule), node:fs where a verb needs more than files.ts (list's listing,
// create's writes). state, kill, start and delete run on files.ts over libc (bun:ffi).
const NONE: string[] = [];

const CASES: Record<string, Case> = {
  "--version": {
    args: ["--version"],
    modules: [
      "src/cli/args.ts",
      "src/cli/husk.ts",
      "src/cli/log.ts",
      "src/cli/main.ts",
      "src/cli/version.ts",
      "src/errors.ts",
      "src/helper/path.ts",
      "src/oci/default-spec.ts",
      "src/package-root.ts",
      "src/runtime/container-id.ts",
      "src/runtime/default-root.ts",
      "src/runtime/version.ts",
      "src/sys/files.ts",
      "src/sys/jit.ts",
      "src/sys/stdio.ts",
      "src/trace.ts",
    ],
    builtins: ["process"],
    status: 0,
  },
  list: { args: ["list"], modules: [...COMMON, "src/cli/list.ts"], builtins: NONE, status: 0 },
  state: {
    args: ["state", "c-state"],
    container: ["c-state", () => sleeper.pid],
    modules: [...COMMON, "src/cli/state.ts", "src/sys/bun-libc.ts", "src/sys/flock-wait.ts"],
    builtins: NONE,
    status: 0,
  },
  kill: {
    args: ["kill", "c-kill", "CONT"],
    container: ["c-kill", () => sleeper.pid],
    modules: [...COMMON, "src/cli/kill.ts", "src/runtime/kill.ts", "src/sys/bun-libc.ts", "src/sys/flock-wait.ts"],
    builtins: NONE,
    status: 0,
  },
  start: {
    args: ["start", "c-start"],
    container: ["c-start", () => sleeper.pid],
    modules: [...COMMON, "src/cli/start.ts", "src/runtime/start.ts", "src/sys/bun-libc.ts", "src/sys/flock-wait.ts"],
    builtins: NONE,
    status: 1,
  },
  // Its init's death ends the container: rmdir from the record, no cgroup module.
  delete: {
    args: ["delete", "--force", "c-delete"],
    container: ["c-delete", () => victim.pid, true],
    modules: [...COMMON, ...DELETE],
    builtins: NONE,
    status: 0,
  },
  "delete (stopped)": {
    args: ["delete", "c-stopped"],
    container: ["c-stopped", () => 0],
    modules: [...COMMON, ...DELETE],
    builtins: NONE,
    status: 0,
  },
  "delete --force (host pid namespace)": {
    args: ["delete", "--force", "c-host-pid"],
    container: ["c-host-pid", () => hostPidVictim.pid],
    modules: [...COMMON, ...CGROUP, ...DELETE],
    builtins: ["fs", "path"], // the cgroup manager's
    status: 0,
  },
};

describe("modules each runtime verb loads at start", () => {
  for (const [verb, c] of Object.entries(CASES)) {
    test(verb, () => {
      if (c.container) fakeContainer(c.container[0], c.container[1](), c.container[2]);
      const got = loads(c.args);
      expect(got.status).toBe(c.status);
      expect(got.modules).toEqual([...c.modules].sort());
      expect(got.builtins).toEqual(c.builtins);
      expect(got.modules.filter((m) => NEVER.some((re) => re.test(m)))).toEqual([]);
    });
  }
});

/**
 * The engine's `husk run --rm --network none busybox true`: a real container (root only), so
 * not a fixed module list, but the builtins it may load and the image and network code it
 * must not (pulling, importing, saving, building busybox, nftables and port probes' sockets
 * load when used). Run from the sources, husk compiles the seccomp filter (no cache): the
 * built CLI does not load the compiler on a cache hit.
 */
describe("modules the engine's run loads", () => {
  const ENGINE_NEVER = [
    /^src\/image\/(pull|registry|auth|import|save|archive|compression|layer|layer-entry|tar|tar-writer|progress|busybox)\.ts$/,
    /^src\/image\/index\.ts$/,
  ];
  test.skipIf(process.getuid?.() !== 0)("run --rm --network none busybox true", () => {
    const data = mkdtempSync(join(tmpdir(), "husk-startup-data-"));
    const state = mkdtempSync("/run/husk-startup-state-");
    try {
      const env = { HUSK_DATA_ROOT: data, HUSK_STATE_ROOT: state, HUSK_NFT_TABLE: "husk_startup", HUSK_IP_FORWARD: "0" };
      const args = ["run", "--rm", "--network", "none", "busybox", "true"];
      expect(loads(args, ["husk"], env).status).toBe(0); // builds the busybox image
      const got = loads(args, ["husk"], env);
      expect(got.status).toBe(0);
      // No node:os: the seccomp cache key's kernel release is read from /proc (host-facts.ts).
      expect(got.builtins).toEqual(["fs", "path", "process"]);
      expect(got.modules.filter((m) => ENGINE_NEVER.some((re) => re.test(m)))).toEqual([]);
      expect(got.modules).toContain("src/engine/engine.ts");
    } finally {
      rmSync(data, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    }
  });
});
