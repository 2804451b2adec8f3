import { describe, expect, test } from "bun:test";
import { HuskError } from "../../src/errors.ts";
import { OCI_VERSION } from "../../src/oci/default-spec.ts";
import { CLONE, NAMESPACE_TYPES, NS_PROC_NAME, namespaceFlags } from "../../src/oci/namespaces.ts";
import { isRlimInfinity, RLIMIT_NAMES, RLIMITS, rlimitResource, rlimitValue } from "../../src/oci/rlimits.ts";
import { normaliseSysctlName } from "../../src/oci/rules.ts";
import {
  formatIssuePath,
  type ParseSpecOptions,
  parseProcess,
  parseSpec,
  runRule,
  SPEC_RULES,
  SpecError,
  type SpecWarning,
  type ValidateOptions,
  validateSpec,
} from "../../src/oci/validate.ts";

// A small valid config, as a plain JSON value the tests mutate.
// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON.
type Json = any;

function base(): Json {
  return {
    ociVersion: "1.2.0",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["/bin/sh"], cwd: "/" },
    hostname: "box",
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/kcore"],
    },
  };
}

/** The message validation fails with after `change` is applied to a fresh base config. */
function failure(change: (s: Json) => void, options: ValidateOptions = {}): string {
  const spec = base();
  change(spec);
  try {
    validateSpec(spec, options);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error("expected validation to fail");
}

function warnings(change: (s: Json) => void, options: ValidateOptions = {}): SpecWarning[] {
  const spec = base();
  change(spec);
  return validateSpec(spec, options).warnings;
}

const addUserns = (s: Json) => {
  s.linux.namespaces.push({ type: "user" });
  s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

describe("valid configs", () => {
  test("the base config passes without warnings and comes back equal", () => {
    const { spec, warnings } = validateSpec(base());
    expect(warnings).toEqual([]);
    expect(spec).toEqual(base());
  });

  test("a full config using most fields passes", () => {
    const s = base();
    Object.assign(s.process, {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 10] },
      env: ["PATH=/bin", "EMPTY="],
      capabilities: { bounding: ["CAP_KILL"], effective: [], inheritable: [], permitted: ["CAP_KILL"], ambient: [] },
      rlimits: [
        { type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 },
        { type: "RLIMIT_CORE", soft: 0, hard: 0 },
      ],
      noNewPrivileges: true,
      apparmorProfile: "docker-default",
      oomScoreAdj: -1000,
      scheduler: { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] },
      selinuxLabel: "",
      ioPriority: { class: "IOPRIO_CLASS_BE", priority: 4 },
    });
    s.root.readonly = true;
    s.domainname = "example.org";
    s.mounts.push({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "rro", "rprivate"] });
    s.hooks = {
      prestart: [{ path: "/usr/bin/hook", args: ["hook", "prestart"], env: ["A=1"], timeout: 5 }],
      poststop: [{ path: "/usr/bin/hook" }],
    };
    s.annotations = { "org.example.key": "value" };
    addUserns(s);
    Object.assign(s.linux, {
      sysctl: { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "10", "kernel.domainname": "x" },
      resources: {
        devices: [
          { allow: false, access: "rwm" },
          { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
        ],
        memory: { limit: 1 << 30, swap: -1, swappiness: 10, disableOOMKiller: false },
        cpu: { shares: 1024, quota: -1, period: 100000, cpus: "0-1", mems: "0", idle: 0 },
        pids: { limit: -1 },
        blockIO: {
          weight: 500,
          weightDevice: [{ major: 8, minor: 0, weight: 100 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1e6 }],
        },
        hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
        network: { classID: 1, priorities: [{ name: "eth0", priority: 5 }] },
        rdma: { mlx5_1: { hcaHandles: 3 } },
        unified: { "memory.high": "max" },
      },
      cgroupsPath: "/husk/test",
      devices: [
        { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
        { path: "/dev/fifo", type: "p" },
      ],
      seccomp: {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 1,
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        flags: ["SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [
          { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
          { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        ],
      },
      rootfsPropagation: "rslave",
      readonlyPaths: ["/proc/sys"],
      mountLabel: "",
      intelRdt: { closID: "guaranteed_group", l3CacheSchema: "L3:0=7f0" },
      personality: { domain: "LINUX32" },
    });
    s.linux.namespaces.push({ type: "cgroup" }, { type: "time" });
    s.linux.timeOffsets = { monotonic: { secs: 3600, nanosecs: 0 }, boottime: { secs: -10 } };
    const { spec, warnings } = validateSpec(s);
    expect(warnings).toEqual([]);
    expect(spec).toEqual(s);
  });

  test("runc-era and prerelease versions are accepted", () => {
    for (const version of ["1.0.0", "1.0.2-dev", "1.1.0-rc.3", "1.3.0", "1.2.0+build.5"]) {
      expect(validateSpec({ ...base(), ociVersion: version }).spec.ociVersion).toBe(version);
    }
  });

  test("unknown keys are extensions: tolerated and kept", () => {
    const s = base();
    s.vm = { hypervisor: { path: "/usr/bin/qemu" } };
    s.process.execCPUAffinity = { initial: "0" };
    s.linux.netDevices = { eth0: {} };
    s.mounts[0].extra = true;
    const { spec } = validateSpec(s);
    expect((spec as Json).vm).toEqual({ hypervisor: { path: "/usr/bin/qemu" } });
    expect((spec.process as Json).execCPUAffinity).toEqual({ initial: "0" });
    expect((spec.linux as Json).netDevices).toEqual({ eth0: {} });
    expect((spec.mounts![0] as Json).extra).toBe(true);
  });

  test("null members mean absent, as Go's encoding/json reads them", () => {
    const s = base();
    s.hostname = null;
    s.hooks = null;
    s.process.env = null;
    s.linux.resources = null;
    const { spec } = validateSpec(s);
    expect("hostname" in spec).toBe(false);
    expect("hooks" in spec).toBe(false);
    expect("env" in spec.process).toBe(false);
    expect(spec.linux && "resources" in spec.linux).toBe(false);
    expect(failure((s) => (s.process.args = null))).toBe("process.args: is required");
  });

  test("the input is not modified", () => {
    const s = base();
    s.mounts[0].destination = "proc";
    s.process.capabilities = { bounding: ["CAP_KILL", "CAP_NOPE"] };
    const before = JSON.stringify(s);
    const { spec } = validateSpec(s);
    expect(JSON.stringify(s)).toBe(before);
    expect(spec.mounts?.[0]?.destination).toBe("/proc");
    expect(spec.process.capabilities?.bounding).toEqual(["CAP_KILL"]);
  });

  test("a __proto__ key cannot change the result's prototype", () => {
    const s = JSON.parse(
      '{"ociVersion":"1.2.0","root":{"path":"r"},"process":{"user":{"uid":0,"gid":0},"args":["a"],"cwd":"/"},"__proto__":{"polluted":true}}',
    );
    const { spec } = validateSpec(s);
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);
    expect((spec as Json).polluted).toBeUndefined();
  });
});

describe("SpecError", () => {
  test("carries the path and the reason, and is a ConfigError (a HuskError)", () => {
    const spec = base();
    spec.linux.namespaces[2].type = "foo";
    let error: unknown;
    try {
      parseSpec(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toBeInstanceOf(HuskError);
    expect(error).toBeInstanceOf(Error);
    const e = error as SpecError;
    expect(e.message).toBe('linux.namespaces[2].type: unknown namespace type "foo"');
    expect(e.path).toBe("linux.namespaces[2].type");
    expect(e.reason).toBe('unknown namespace type "foo"');
    expect(e.origin).toBe("linux.namespaces[2].type");
    expect(e.name).toBe("ConfigError");
  });

  test("the document itself must be an object", () => {
    for (const doc of [null, [], "x", 1, undefined]) {
      expect(() => parseSpec(doc)).toThrow(new SpecError("", "config must be a JSON object"));
    }
    expect(new SpecError("", "config must be a JSON object").message).toBe("config must be a JSON object");
  });
});

describe("top level", () => {
  test("ociVersion", () => {
    expect(failure((s) => (s.ociVersion = 1))).toBe("ociVersion: must be a string");
    expect(failure((s) => (s.ociVersion = "1.0"))).toBe('ociVersion: "1.0" is not a semantic version');
    expect(failure((s) => (s.ociVersion = "2.0.0"))).toBe(
      "ociVersion: unsupported major version 2 (husk implements runtime-spec 1.x)",
    );
    expect(failure((s) => (s.ociVersion = "0.6.0"))).toBe(
      "ociVersion: unsupported major version 0 (husk implements runtime-spec 1.x)",
    );
  });

  test("a missing ociVersion is tolerated, as runc and crun do, and reads as husk's own version", () => {
    const s = base();
    delete s.ociVersion;
    const { spec, warnings } = validateSpec(s);
    expect(warnings).toEqual([]);
    expect(spec.ociVersion).toBe(OCI_VERSION);
    expect(Object.keys(spec)[0]).toBe("ociVersion");
  });

  test("root", () => {
    expect(failure((s) => delete s.root)).toBe("root: is required");
    expect(failure((s) => (s.root = "rootfs"))).toBe("root: must be an object");
    expect(failure((s) => (s.root = ["rootfs"]))).toBe("root: must be an object");
    expect(failure((s) => delete s.root.path)).toBe("root.path: is required");
    expect(failure((s) => (s.root.path = ""))).toBe("root.path: must not be empty");
    expect(failure((s) => (s.root.path = 7))).toBe("root.path: must be a string");
    expect(failure((s) => (s.root.readonly = "yes"))).toBe("root.readonly: must be a boolean");
  });

  test("hostname, domainname, annotations", () => {
    expect(failure((s) => (s.hostname = 5))).toBe("hostname: must be a string");
    expect(failure((s) => (s.domainname = false))).toBe("domainname: must be a string");
    expect(failure((s) => (s.annotations = { "io.k8s.thing": 1 }))).toBe('annotations["io.k8s.thing"]: must be a string');
    expect(failure((s) => (s.annotations = ["a"]))).toBe("annotations: must be an object");
  });
});

describe("process", () => {
  test("is required, with args, cwd and user", () => {
    expect(failure((s) => delete s.process)).toBe("process: is required");
    expect(failure((s) => delete s.process.args)).toBe("process.args: is required");
    expect(failure((s) => delete s.process.cwd)).toBe("process.cwd: is required");
    expect(failure((s) => delete s.process.user)).toBe("process.user: is required");
    expect(failure((s) => delete s.process.user.gid)).toBe("process.user.gid: is required");
  });

  test("args", () => {
    const message = "process.args: must be a non-empty array of strings";
    expect(failure((s) => (s.process.args = []))).toBe(message);
    expect(failure((s) => (s.process.args = "sh"))).toBe(message);
    expect(failure((s) => (s.process.args = ["sh", 1]))).toBe(message);
    expect(failure((s) => (s.process.args = ["sh", "a\0b"]))).toBe("process.args[1]: must not contain a NUL byte");
  });

  test("cwd is absolute", () => {
    expect(failure((s) => (s.process.cwd = "tmp"))).toBe('process.cwd: must be an absolute path, not "tmp"');
    expect(failure((s) => (s.process.cwd = ""))).toBe('process.cwd: must be an absolute path, not ""');
    expect(failure((s) => (s.process.cwd = 0))).toBe("process.cwd: must be a string");
  });

  test("user ids are ids the kernel can set: 0 … 4294967294", () => {
    const tooBig = "must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)";
    expect(failure((s) => (s.process.user.uid = -1))).toBe("process.user.uid: must be a non-negative integer");
    expect(failure((s) => (s.process.user.uid = 1.5))).toBe("process.user.uid: must be a non-negative integer");
    expect(failure((s) => (s.process.user.gid = "0"))).toBe("process.user.gid: must be a non-negative integer");
    expect(failure((s) => (s.process.user.uid = 2 ** 32))).toBe(`process.user.uid: ${tooBig}`);
    // (uid_t)-1: setresuid(-1, -1, -1) changes nothing, so the process would stay root.
    expect(failure((s) => (s.process.user.uid = 4294967295))).toBe(`process.user.uid: ${tooBig}`);
    expect(failure((s) => (s.process.user.gid = 4294967295))).toBe(`process.user.gid: ${tooBig}`);
    expect(failure((s) => (s.process.user.additionalGids = [5, 4294967295]))).toBe(`process.user.additionalGids[1]: ${tooBig}`);
    expect(failure((s) => (s.process.user.additionalGids = [1, -2]))).toBe(
      "process.user.additionalGids[1]: must be a non-negative integer",
    );
    const ok = base();
    ok.process.user = { uid: 4294967294, gid: 4294967294, additionalGids: [4294967294] };
    expect(validateSpec(ok).spec.process.user.uid).toBe(4294967294);
  });

  test("env entries are NAME=value", () => {
    expect(failure((s) => (s.process.env = ["PATH=/bin", "JUNK"]))).toBe('process.env[1]: must be NAME=value, not "JUNK"');
    expect(failure((s) => (s.process.env = ["=x"]))).toBe('process.env[0]: must be NAME=value, not "=x"');
    expect(failure((s) => (s.process.env = [3]))).toBe("process.env[0]: must be a string");
  });

  test("other fields", () => {
    expect(failure((s) => (s.process.terminal = "yes"))).toBe("process.terminal: must be a boolean");
    expect(failure((s) => (s.process.consoleSize = { height: 24 }))).toBe("process.consoleSize.width: is required");
    expect(failure((s) => (s.process.oomScoreAdj = 1001))).toBe("process.oomScoreAdj: must be at most 1000");
    expect(failure((s) => (s.process.oomScoreAdj = -1001))).toBe(
      "process.oomScoreAdj: must be an integer between -1000 and 1000",
    );
    expect(failure((s) => (s.process.ioPriority = { class: "IOPRIO_CLASS_X", priority: 0 }))).toBe(
      'process.ioPriority.class: unknown I/O priority class "IOPRIO_CLASS_X"',
    );
    expect(failure((s) => (s.process.ioPriority = { class: "IOPRIO_CLASS_RT", priority: 8 }))).toBe(
      "process.ioPriority.priority: must be at most 7",
    );
    expect(failure((s) => (s.process.ioPriority = { priority: 1 }))).toBe("process.ioPriority.class: is required");
  });

  test("tolerated as runc tolerates them", () => {
    const s = base();
    // The spec's consoleSize is a uint, ignored without a terminal; runc truncates it to 16 bits.
    s.process.consoleSize = { height: 70000, width: 80 };
    // runc defaults a missing I/O priority level to 0, as the spec's JSON schema allows.
    s.process.ioPriority = { class: "IOPRIO_CLASS_BE" };
    const { spec, warnings } = validateSpec(s);
    expect(warnings).toEqual([]);
    expect(spec.process.consoleSize).toEqual({ height: 70000, width: 80 });
    expect(spec.process.ioPriority).toEqual({ class: "IOPRIO_CLASS_BE", priority: 0 });
  });

  test("scheduler, as runc checks it", () => {
    expect(failure((s) => (s.process.scheduler = {}))).toBe("process.scheduler.policy: is required");
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_FAST" }))).toBe(
      'process.scheduler.policy: unknown scheduler policy "SCHED_FAST"',
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_OTHER", nice: 20 }))).toBe(
      "process.scheduler.nice: must be between -20 and 19 for SCHED_OTHER, not 20",
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_BATCH", nice: -21 }))).toBe(
      "process.scheduler.nice: must be between -20 and 19 for SCHED_BATCH, not -21",
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_IDLE", nice: 2 ** 31 }))).toBe(
      "process.scheduler.nice: must be at most 2147483647",
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_OTHER", priority: 1 }))).toBe(
      "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not SCHED_OTHER",
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_RR", deadline: 10 }))).toBe(
      "process.scheduler.deadline: only applies to SCHED_DEADLINE, not SCHED_RR",
    );
    expect(failure((s) => (s.process.scheduler = { policy: "SCHED_OTHER", flags: ["SCHED_FLAG_X"] }))).toBe(
      'process.scheduler.flags[0]: unknown scheduler flag "SCHED_FLAG_X"',
    );
    const ok = base();
    ok.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 1e6, deadline: 2e6, period: 3e6 };
    expect(validateSpec(ok).warnings).toEqual([]);
    // The spec's nice is an int32; runc checks the range only where nice applies, and for the
    // other policies the kernel ignores or clamps it.
    for (const policy of ["SCHED_IDLE", "SCHED_FIFO", "SCHED_RR", "SCHED_ISO", "SCHED_DEADLINE"]) {
      ok.process.scheduler = { policy, nice: 30 };
      expect(validateSpec(ok).spec.process.scheduler?.nice).toBe(30);
    }
  });
});

describe("rlimits", () => {
  const withRlimits = (rlimits: Json[]) => (s: Json) => (s.process.rlimits = rlimits);

  test("type must be a known RLIMIT_* name", () => {
    expect(failure(withRlimits([{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]))).toBe(
      'process.rlimits[0].type: unknown rlimit type "RLIMIT_FOO"',
    );
    expect(failure(withRlimits([{ type: "nofile", soft: 1, hard: 1 }]))).toBe(
      'process.rlimits[0].type: unknown rlimit type "nofile"',
    );
    expect(failure(withRlimits([{ soft: 1, hard: 1 }]))).toBe("process.rlimits[0].type: is required");
  });

  test("soft and hard are uint64", () => {
    expect(failure(withRlimits([{ type: "RLIMIT_CORE", soft: -1, hard: 1 }]))).toBe(
      "process.rlimits[0].soft: must be a non-negative integer",
    );
    expect(failure(withRlimits([{ type: "RLIMIT_CORE", soft: 0, hard: "1" }]))).toBe(
      "process.rlimits[0].hard: must be a non-negative integer",
    );
    expect(failure(withRlimits([{ type: "RLIMIT_CORE", soft: 0, hard: 1e20 }]))).toBe(
      "process.rlimits[0].hard: must be at most 18446744073709551615",
    );
    expect(failure(withRlimits([{ type: "RLIMIT_CORE", soft: 0 }]))).toBe("process.rlimits[0].hard: is required");
  });

  test("2^64-1 in the JSON text is RLIM_INFINITY", () => {
    const text = JSON.stringify(base()).replace(
      '"cwd":"/"',
      '"cwd":"/","rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615},{"type":"RLIMIT_NOFILE","hard":9007199254740993,"soft":1024}]',
    );
    const spec = parseSpec(JSON.parse(text));
    const [memlock, nofile] = spec.process.rlimits!;
    expect(isRlimInfinity(memlock!.hard)).toBe(true);
    expect(rlimitValue(memlock!.soft)).toBe(-1);
    expect(isRlimInfinity(nofile!.hard)).toBe(false);
    expect(rlimitValue(nofile!.soft)).toBe(1024);
  });

  test("no type twice", () => {
    expect(
      failure(
        withRlimits([
          { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
          { type: "RLIMIT_CORE", soft: 1, hard: 1 },
          { type: "RLIMIT_NOFILE", soft: 2, hard: 2 },
        ]),
      ),
    ).toBe('process.rlimits[2].type: duplicate rlimit type "RLIMIT_NOFILE" (first at process.rlimits[0])');
  });

  test("soft does not exceed hard", () => {
    expect(failure(withRlimits([{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }]))).toBe(
      "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024",
    );
    expect(failure(withRlimits([{ type: "RLIMIT_NOFILE", soft: 2 ** 64, hard: 1024 }]))).toBe(
      "process.rlimits[0]: soft limit unlimited exceeds hard limit 1024",
    );
    expect(warnings(withRlimits([{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2 ** 64 }]))).toEqual([]);
  });
});

describe("capabilities", () => {
  test("unknown names are dropped with a warning, as runc does", () => {
    const s = base();
    s.process.capabilities = {
      bounding: ["CAP_KILL", "CAP_FOO", "CAP_CHOWN"],
      effective: ["cap_kill"],
      permitted: ["CAP_KILL"],
    };
    const { spec, warnings } = validateSpec(s);
    expect(warnings).toEqual([
      { path: "process.capabilities.bounding[1]", message: 'ignoring unknown capability "CAP_FOO"' },
      { path: "process.capabilities.effective[0]", message: 'ignoring unknown capability "cap_kill"' },
    ]);
    expect(spec.process.capabilities).toEqual({ bounding: ["CAP_KILL", "CAP_CHOWN"], effective: [], permitted: ["CAP_KILL"] });
  });

  test('unknownCapabilities: "error" refuses them instead (runtime-tools\' 1.0-era expectation)', () => {
    const change = (s: Json) => (s.process.capabilities = { bounding: ["CAP_KILL", "CAP_TEST"] });
    expect(failure(change, { unknownCapabilities: "error" })).toBe(
      'process.capabilities.bounding[1]: unknown capability "CAP_TEST"',
    );
    expect(warnings(change, { unknownCapabilities: "warn" })).toEqual([
      { path: "process.capabilities.bounding[1]", message: 'ignoring unknown capability "CAP_TEST"' },
    ]);
  });

  test("parseSpec hands the warnings to onWarning", () => {
    const s = base();
    s.process.capabilities = { ambient: ["CAP_NOPE"] };
    const seen: SpecWarning[] = [];
    const options: ParseSpecOptions = { onWarning: (w) => seen.push(w) };
    expect(parseSpec(s, options).process.capabilities?.ambient).toEqual([]);
    expect(seen).toEqual([{ path: "process.capabilities.ambient[0]", message: 'ignoring unknown capability "CAP_NOPE"' }]);
  });

  test("wrong types are errors", () => {
    expect(failure((s) => (s.process.capabilities = { bounding: "CAP_KILL" }))).toBe(
      "process.capabilities.bounding: must be an array",
    );
    expect(failure((s) => (s.process.capabilities = { bounding: [7] }))).toBe(
      "process.capabilities.bounding[0]: must be a string",
    );
  });
});

describe("namespaces", () => {
  test("known types only", () => {
    expect(failure((s) => (s.linux.namespaces[2].type = "foo"))).toBe('linux.namespaces[2].type: unknown namespace type "foo"');
    expect(failure((s) => (s.linux.namespaces[0].type = "net"))).toBe('linux.namespaces[0].type: unknown namespace type "net"');
    expect(failure((s) => delete s.linux.namespaces[1].type)).toBe("linux.namespaces[1].type: is required");
    expect(failure((s) => (s.linux.namespaces = { type: "pid" }))).toBe("linux.namespaces: must be an array");
    expect(failure((s) => (s.linux.namespaces[0] = "pid"))).toBe("linux.namespaces[0]: must be an object");
  });

  test("no type twice", () => {
    expect(failure((s) => s.linux.namespaces.push({ type: "pid", path: "/proc/1/ns/pid" }))).toBe(
      'linux.namespaces[5].type: duplicate namespace type "pid" (first at linux.namespaces[0])',
    );
  });

  test("path is absolute", () => {
    expect(failure((s) => (s.linux.namespaces[0].path = "proc/1/ns/pid"))).toBe(
      'linux.namespaces[0].path: must be an absolute path, not "proc/1/ns/pid"',
    );
    expect(warnings((s) => (s.linux.namespaces[1].path = "/var/run/netns/x"))).toEqual([]);
  });

  test("every type is accepted", () => {
    const s = base();
    s.linux.namespaces = NAMESPACE_TYPES.map((type) => ({ type }));
    addUserns({ linux: { namespaces: [] } });
    s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(validateSpec(s).spec.linux?.namespaces?.length).toBe(8);
  });
});

describe("id mappings", () => {
  const maps =
    (uid: Json[], gid: Json[] = [{ containerID: 0, hostID: 0, size: 1 }]) =>
    (s: Json) => {
      s.linux.namespaces.push({ type: "user" });
      s.linux.uidMappings = uid;
      s.linux.gidMappings = gid;
    };

  test("fields are uint32, size positive", () => {
    expect(
      failure(
        maps([
          { containerID: 0, hostID: 0, size: 1 },
          { containerID: 1, hostID: 1, size: 0 },
        ]),
      ),
    ).toBe("linux.uidMappings[1].size: must be a positive integer");
    expect(failure(maps([{ containerID: -1, hostID: 0, size: 1 }]))).toBe(
      "linux.uidMappings[0].containerID: must be a non-negative integer",
    );
    expect(failure(maps([{ containerID: 0, size: 1 }]))).toBe("linux.uidMappings[0].hostID: is required");
    expect(failure(maps([{ containerID: 0, hostID: 0, size: 1 }], [{ containerID: 0, hostID: 1.5, size: 1 }]))).toBe(
      "linux.gidMappings[0].hostID: must be a non-negative integer",
    );
  });

  test("ranges do not overlap on either side", () => {
    expect(
      failure(
        maps([
          { containerID: 0, hostID: 100000, size: 1000 },
          { containerID: 500, hostID: 200000, size: 1000 },
        ]),
      ),
    ).toBe("linux.uidMappings[1]: container ids 500-1499 overlap linux.uidMappings[0]");
    expect(
      failure(
        maps([
          { containerID: 0, hostID: 100000, size: 1000 },
          { containerID: 1000, hostID: 100999, size: 1 },
        ]),
      ),
    ).toBe("linux.uidMappings[1]: host ids 100999-100999 overlap linux.uidMappings[0]");
    // Adjacent ranges are fine.
    expect(
      warnings(
        maps([
          { containerID: 0, hostID: 100000, size: 1000 },
          { containerID: 1000, hostID: 101000, size: 1000 },
        ]),
      ),
    ).toEqual([]);
  });

  test("ranges do not wrap the 32-bit id space", () => {
    expect(failure(maps([{ containerID: 4294967295, hostID: 0, size: 1 }]))).toBe(
      "linux.uidMappings[0].containerID: must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)",
    );
    expect(failure(maps([{ containerID: 0, hostID: 0, size: 1 }], [{ containerID: 0, hostID: 4294967295, size: 1 }]))).toBe(
      "linux.gidMappings[0].hostID: must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)",
    );
    expect(failure(maps([{ containerID: 4294967294, hostID: 0, size: 2 }]))).toBe(
      "linux.uidMappings[0]: containerID + size must not exceed 4294967295",
    );
    expect(failure(maps([{ containerID: 0, hostID: 0, size: 4294967296 }]))).toBe(
      "linux.uidMappings[0].size: must be at most 4294967295",
    );
    expect(failure(maps([{ containerID: 0, hostID: 4294967000, size: 1000 }]))).toBe(
      "linux.uidMappings[0]: hostID + size must not exceed 4294967295",
    );
  });

  test("at most 340 extents", () => {
    const many = Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 1000 + i, size: 1 }));
    expect(failure(maps(many))).toBe("linux.uidMappings: at most 340 mappings are allowed, got 341");
    expect(warnings(maps(many.slice(0, 340)))).toEqual([]);
  });
});

describe("user namespace", () => {
  test("mappings need a user namespace", () => {
    expect(failure((s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]))).toBe(
      "linux.uidMappings: user namespace mappings specified, but no user namespace is configured",
    );
    expect(failure((s) => (s.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }]))).toBe(
      "linux.gidMappings: user namespace mappings specified, but no user namespace is configured",
    );
  });

  test("a new user namespace needs both mappings", () => {
    expect(failure((s) => s.linux.namespaces.push({ type: "user" }))).toBe(
      "linux.namespaces[5]: a new user namespace needs linux.uidMappings and linux.gidMappings",
    );
    expect(
      failure((s) => {
        addUserns(s);
        delete s.linux.gidMappings;
      }),
    ).toBe("linux.namespaces[5]: a new user namespace needs linux.gidMappings");
    expect(
      failure((s) => {
        addUserns(s);
        s.linux.uidMappings = [];
      }),
    ).toBe("linux.namespaces[5]: a new user namespace needs linux.uidMappings");
  });

  test("rootless may leave the mappings to husk", () => {
    expect(warnings((s) => s.linux.namespaces.push({ type: "user" }), { rootless: true })).toEqual([]);
  });

  test("rootless requires a user namespace", () => {
    expect(failure(() => {}, { rootless: true })).toBe("linux.namespaces: rootless containers require a user namespace");
  });

  test("a joined user namespace keeps its mappings; given ones are ignored with a warning", () => {
    expect(warnings((s) => s.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" }))).toEqual([]);
    expect(
      warnings((s) => {
        addUserns(s);
        s.linux.namespaces[5].path = "/proc/1/ns/user";
      }),
    ).toEqual([{ path: "linux.uidMappings", message: "ignored: a user namespace joined by path keeps its own mappings" }]);
  });
});

describe("time namespace", () => {
  const offsets =
    (value: Json, ns: Json = { type: "time" }) =>
    (s: Json) => {
      if (ns) s.linux.namespaces.push(ns);
      s.linux.timeOffsets = value;
    };

  test("only monotonic and boottime", () => {
    expect(failure(offsets({ realtime: { secs: 1 } }))).toBe(
      'linux.timeOffsets.realtime: unknown clock "realtime" (only monotonic and boottime can be offset)',
    );
    expect(warnings(offsets({ monotonic: { secs: -5, nanosecs: 999999999 }, boottime: {} }))).toEqual([]);
  });

  test("field ranges", () => {
    expect(failure(offsets({ monotonic: { nanosecs: 1e9 } }))).toBe(
      "linux.timeOffsets.monotonic.nanosecs: must be at most 999999999",
    );
    expect(failure(offsets({ boottime: { secs: 1.5 } }))).toBe("linux.timeOffsets.boottime.secs: must be an integer");
  });

  test("offsets need a new time namespace", () => {
    expect(failure(offsets({ monotonic: { secs: 1 } }, null))).toBe(
      "linux.timeOffsets: time namespace offsets specified, but no time namespace is configured",
    );
    expect(failure(offsets({ monotonic: { secs: 1 } }, { type: "time", path: "/proc/1/ns/time" }))).toBe(
      "linux.timeOffsets: cannot set offsets of a time namespace joined by path",
    );
  });
});

describe("uts namespace", () => {
  const withoutUts = (s: Json) => (s.linux.namespaces = s.linux.namespaces.filter((n: Json) => n.type !== "uts"));

  test("hostname and domainname need one", () => {
    expect(failure(withoutUts)).toBe("hostname: unable to set hostname without a private UTS namespace");
    expect(
      failure((s) => {
        withoutUts(s);
        delete s.hostname;
        s.domainname = "example.org";
      }),
    ).toBe("domainname: unable to set domainname without a private UTS namespace");
  });

  test("an empty hostname needs none; a joined one counts", () => {
    expect(
      warnings((s) => {
        withoutUts(s);
        s.hostname = "";
      }),
    ).toEqual([]);
    expect(warnings((s) => (s.linux.namespaces[3].path = "/proc/1/ns/uts"))).toEqual([]);
  });
});

describe("mount namespace", () => {
  const withoutMountns = (s: Json) => (s.linux.namespaces = s.linux.namespaces.filter((n: Json) => n.type !== "mount"));

  test("masked and read-only paths need one", () => {
    expect(failure(withoutMountns)).toBe("linux.maskedPaths: unable to mask paths without a mount namespace");
    expect(
      failure((s) => {
        withoutMountns(s);
        delete s.linux.maskedPaths;
        s.linux.readonlyPaths = ["/proc/sys"];
      }),
    ).toBe("linux.readonlyPaths: unable to make paths read-only without a mount namespace");
  });

  test("mounts without one are allowed, as in runc, with a warning", () => {
    expect(
      warnings((s) => {
        withoutMountns(s);
        delete s.linux.maskedPaths;
      }),
    ).toEqual([
      { path: "linux.namespaces", message: "no mount namespace: mounts are made in the runtime's own mount namespace" },
    ]);
  });

  test("masked and read-only paths are absolute", () => {
    expect(failure((s) => (s.linux.maskedPaths = ["proc/kcore"]))).toBe(
      'linux.maskedPaths[0]: must be an absolute path, not "proc/kcore"',
    );
    expect(failure((s) => (s.linux.readonlyPaths = ["/proc/sys", 1]))).toBe("linux.readonlyPaths[1]: must be a string");
  });
});

describe("sysctl", () => {
  const sysctl = (map: Json, drop?: string) => (s: Json) => {
    s.linux.sysctl = map;
    if (drop) s.linux.namespaces = s.linux.namespaces.filter((n: Json) => n.type !== drop);
  };

  test("values are strings", () => {
    expect(failure(sysctl({ "net.ipv4.ip_forward": 1 }))).toBe('linux.sysctl["net.ipv4.ip_forward"]: must be a string');
  });

  test("net.* needs a network namespace", () => {
    expect(failure(sysctl({ "net.ipv4.ip_forward": "1" }, "network"))).toBe(
      `linux.sysctl["net.ipv4.ip_forward"]: not allowed in the host's network namespace (add a "network" namespace)`,
    );
    expect(failure(sysctl({ "net/ipv4/ip_forward": "1" }, "network"))).toBe(
      `linux.sysctl["net/ipv4/ip_forward"]: not allowed in the host's network namespace (add a "network" namespace)`,
    );
    expect(warnings(sysctl({ "net.ipv4.ip_forward": "1", "net.core.somaxconn": "1024" }))).toEqual([]);
  });

  test("ipc sysctls need an ipc namespace", () => {
    for (const key of ["kernel.shmmax", "kernel.msgmnb", "kernel.sem", "kernel.shm_rmid_forced", "fs.mqueue.msg_max"]) {
      expect(failure(sysctl({ [key]: "1" }, "ipc"))).toBe(
        `linux.sysctl["${key}"]: not allowed in the host's ipc namespace (add an "ipc" namespace)`,
      );
      expect(warnings(sysctl({ [key]: "1" }))).toEqual([]);
    }
  });

  test("uts: kernel.domainname is allowed, kernel.hostname conflicts with the hostname field", () => {
    expect(warnings(sysctl({ "kernel.domainname": "example.org" }))).toEqual([]);
    expect(failure(sysctl({ "kernel.hostname": "x" }))).toBe(
      `linux.sysctl["kernel.hostname"]: conflicts with the "hostname" field; set that instead`,
    );
    expect(
      failure((s) => {
        sysctl({ "kernel.domainname": "x" }, "uts")(s);
        delete s.hostname;
      }),
    ).toBe(`linux.sysctl["kernel.domainname"]: not in a separate kernel namespace (it would change the host)`);
  });

  test("everything else would change the host", () => {
    expect(failure(sysctl({ "vm.swappiness": "10" }))).toBe(
      `linux.sysctl["vm.swappiness"]: not in a separate kernel namespace (it would change the host)`,
    );
    expect(failure(sysctl({ "kernel.pid_max": "10" }))).toBe(
      `linux.sysctl["kernel.pid_max"]: not in a separate kernel namespace (it would change the host)`,
    );
  });

  test("slash-separated names are read as sysctl.d(5) reads them", () => {
    expect(normaliseSysctlName("net/ipv4/conf/eno2.100/rp_filter")).toBe("net.ipv4.conf.eno2/100.rp_filter");
    expect(normaliseSysctlName("net.ipv4.conf.eno2/100.rp_filter")).toBe("net.ipv4.conf.eno2/100.rp_filter");
    expect(normaliseSysctlName("kernel/shmmax")).toBe("kernel.shmmax");
    expect(normaliseSysctlName("nodots")).toBe("nodots");
  });
});

describe("mounts", () => {
  test("destination is required and must not be empty", () => {
    expect(failure((s) => delete s.mounts[0].destination)).toBe("mounts[0].destination: is required");
    expect(failure((s) => (s.mounts[0].destination = ""))).toBe("mounts[0].destination: must not be empty");
    expect(failure((s) => (s.mounts = {}))).toBe("mounts: must be an array");
  });

  test("a relative destination is made absolute, with runc's deprecation warning", () => {
    const s = base();
    s.mounts.push(
      { destination: "data", type: "tmpfs", source: "tmpfs" },
      { destination: "./a/../b", type: "tmpfs", source: "tmpfs" },
    );
    const { spec, warnings } = validateSpec(s);
    expect(spec.mounts?.map((m) => m.destination)).toEqual(["/proc", "/data", "/b"]);
    expect(warnings).toEqual([
      { path: "mounts[1].destination", message: 'relative destination "data" is deprecated, using "/data"' },
      { path: "mounts[2].destination", message: 'relative destination "./a/../b" is deprecated, using "/b"' },
    ]);
  });

  test("field types", () => {
    expect(failure((s) => (s.mounts[0].type = 5))).toBe("mounts[0].type: must be a string");
    expect(failure((s) => (s.mounts[0].options = ["nosuid", 1]))).toBe("mounts[0].options[1]: must be a string");
    expect(failure((s) => (s.mounts[0].source = "pr\0oc"))).toBe("mounts[0].source: must not contain a NUL byte");
  });

  test("filesystem options on bind mounts are ignored with a warning (as runc and crun accept them)", () => {
    expect(
      warnings((s) =>
        s.mounts.push({ destination: "/etc/hosts", source: "/tmp/hosts", options: ["rbind", "ro", "mode=755", "x"] }),
      ),
    ).toEqual([{ path: "mounts[1].options", message: "filesystem-specific options on a bind mount are ignored (mode=755,x)" }]);
    expect(
      warnings((s) =>
        s.mounts.push({
          destination: "/etc/hosts",
          type: "none",
          source: "/tmp/hosts",
          options: ["rbind", "rprivate", "ro", "defaults"],
        }),
      ),
    ).toEqual([]);
  });

  test('"type": "bind" alone makes a bind mount', () => {
    expect(
      warnings((s) => s.mounts.push({ destination: "/x", type: "bind", source: "/srv/x", options: ["ro", "size=1m"] })),
    ).toEqual([{ path: "mounts[1].options", message: "filesystem-specific options on a bind mount are ignored (size=1m)" }]);
    const mapping = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(
      warnings((s) =>
        s.mounts.push({ destination: "/x", type: "bind", source: "/srv/x", uidMappings: mapping, gidMappings: mapping }),
      ),
    ).toEqual([]);
  });

  test("id-mapped mounts", () => {
    const idmapped = { destination: "/data", source: "/srv/data", options: ["bind", "idmap"] };
    const mapping = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(failure((s) => s.mounts.push({ ...idmapped, options: ["idmap"] }))).toBe(
      "mounts[1]: id-mapped mounts are only supported for bind mounts",
    );
    expect(failure((s) => s.mounts.push({ ...idmapped, options: ["bind"], uidMappings: mapping }))).toBe(
      "mounts[1]: id-mapped mounts need both uidMappings and gidMappings",
    );
    expect(failure((s) => s.mounts.push(idmapped))).toBe(
      "mounts[1]: id-mapped mounts need uidMappings and gidMappings, or a user namespace to take them from",
    );
    expect(
      failure(
        (s) => {
          addUserns(s);
          s.mounts.push(idmapped);
        },
        { rootless: true },
      ),
    ).toBe("mounts[1]: id-mapped mounts are not supported for rootless containers");
    expect(
      failure((s) =>
        s.mounts.push({ ...idmapped, uidMappings: [...mapping, { containerID: 0, hostID: 5, size: 1 }], gidMappings: mapping }),
      ),
    ).toBe("mounts[1].uidMappings[1]: container ids 0-0 overlap mounts[1].uidMappings[0]");
    expect(failure((s) => s.mounts.push({ ...idmapped, uidMappings: [{ containerID: 0, hostID: 0, size: 0 }] }))).toBe(
      "mounts[1].uidMappings[0].size: must be a positive integer",
    );
    expect(
      failure((s) =>
        s.mounts.push({ ...idmapped, uidMappings: mapping, gidMappings: [{ containerID: 4294967295, hostID: 0, size: 1 }] }),
      ),
    ).toBe(
      "mounts[1].gidMappings[0].containerID: must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)",
    );
    expect(
      failure((s) =>
        s.mounts.push({ ...idmapped, uidMappings: [{ containerID: 0, hostID: 4294967000, size: 1000 }], gidMappings: mapping }),
      ),
    ).toBe("mounts[1].uidMappings[0]: hostID + size must not exceed 4294967295");
    expect(warnings((s) => s.mounts.push({ ...idmapped, uidMappings: mapping, gidMappings: mapping }))).toEqual([]);
    expect(
      warnings((s) => {
        addUserns(s);
        s.mounts.push({ ...idmapped, options: ["rbind", "ridmap"] });
      }),
    ).toEqual([]);
  });
});

describe("devices", () => {
  const device = (d: Json) => (s: Json) => (s.linux.devices = [d]);

  test("type, path and numbers", () => {
    expect(failure(device({ path: "/dev/x", type: "x", major: 1, minor: 1 }))).toBe(
      'linux.devices[0].type: unknown device type "x"',
    );
    expect(failure(device({ path: "dev/x", type: "c", major: 1, minor: 1 }))).toBe(
      'linux.devices[0].path: must be an absolute path, not "dev/x"',
    );
    expect(failure(device({ path: "/dev/x", type: "c", minor: 1 }))).toBe(
      'linux.devices[0].major: is required for device type "c"',
    );
    expect(failure(device({ path: "/dev/x", type: "b", major: 8 }))).toBe(
      'linux.devices[0].minor: is required for device type "b"',
    );
    expect(failure(device({ path: "/dev/x", type: "c", major: "1", minor: 1 }))).toBe(
      "linux.devices[0].major: must be an integer",
    );
    expect(failure(device({ path: "/dev/x", type: "c", major: 1, minor: 1, fileMode: -1 }))).toBe(
      "linux.devices[0].fileMode: must be a non-negative integer",
    );
    expect(failure(device({ path: "/dev/x", type: "c", major: 1, minor: 1, uid: 4294967295 }))).toBe(
      "linux.devices[0].uid: must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)",
    );
    expect(failure(device({ path: "/dev/x", type: "c", major: 1, minor: 1, gid: 4294967295 }))).toBe(
      "linux.devices[0].gid: must be at most 4294967294 (4294967295 is (uid_t)-1, which setuid and chown ignore)",
    );
    expect(warnings(device({ path: "/dev/fifo", type: "p" }))).toEqual([]);
    expect(warnings(device({ path: "/dev/null", type: "u", major: 1, minor: 3 }))).toEqual([]);
  });
});

describe("hooks", () => {
  test("path absolute, timeout positive", () => {
    expect(failure((s) => (s.hooks = { prestart: [{ path: "bin/true" }] }))).toBe(
      'hooks.prestart[0].path: must be an absolute path, not "bin/true"',
    );
    expect(failure((s) => (s.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }))).toBe(
      "hooks.poststop[0].timeout: must be a positive integer",
    );
    expect(failure((s) => (s.hooks = { createRuntime: [{ args: [] }] }))).toBe("hooks.createRuntime[0].path: is required");
    expect(failure((s) => (s.hooks = { startContainer: { path: "/x" } }))).toBe("hooks.startContainer: must be an array");
  });
});

describe("linux, other fields", () => {
  test("rootfsPropagation", () => {
    expect(failure((s) => (s.linux.rootfsPropagation = "rprivat"))).toBe(
      'linux.rootfsPropagation: unknown rootfs propagation "rprivat"',
    );
    const s = base();
    s.linux.rootfsPropagation = "";
    expect(validateSpec(s).spec.linux?.rootfsPropagation).toBeUndefined();
  });

  test("seccomp", () => {
    const sc = (value: Json) => (s: Json) => (s.linux.seccomp = value);
    expect(failure(sc({ defaultAction: "SCMP_ACT_FOO" }))).toBe(
      'linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_FOO"',
    );
    expect(failure(sc({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }))).toBe(
      "linux.seccomp.defaultAction: is required",
    );
    expect(failure(sc({ defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/agent.sock" }))).toBe(
      "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
    expect(failure(sc({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }] }))).toBe(
      "linux.seccomp.listenerPath: is required when a syscall uses SCMP_ACT_NOTIFY",
    );
    expect(failure(sc({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] }))).toBe(
      "linux.seccomp.syscalls[0].names: must be a non-empty array of strings",
    );
    expect(
      failure(
        sc({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }],
        }),
      ),
    ).toBe("linux.seccomp.syscalls[0].args[0].index: must be at most 5");
    expect(
      failure(
        sc({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "EQ" }] }],
        }),
      ),
    ).toBe('linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "EQ"');
    expect(failure(sc({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] }))).toBe(
      'linux.seccomp.architectures[0]: unknown seccomp architecture "x86_64"',
    );
    expect(failure(sc({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }))).toBe(
      'linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"',
    );
    // runc: no default action and no syscalls means no seccomp.
    expect(warnings(sc({}))).toEqual([]);
    expect(
      warnings(
        sc({
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: "/run/a.sock",
          syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }],
        }),
      ),
    ).toEqual([]);
  });

  test("resources", () => {
    expect(failure((s) => (s.linux.resources = { memory: { limit: "1G" } }))).toBe(
      "linux.resources.memory.limit: must be an integer",
    );
    expect(failure((s) => (s.linux.resources = { devices: [{ allow: true, access: "rw m" }] }))).toBe(
      'linux.resources.devices[0].access: must be made of "r", "w" and "m" (other letters are ignored), not "rw m"',
    );
    expect(failure((s) => (s.linux.resources = { devices: [{ access: "r" }] }))).toBe(
      "linux.resources.devices[0].allow: is required",
    );
    expect(failure((s) => (s.linux.resources = { devices: [{ allow: true, type: "u" }] }))).toBe(
      'linux.resources.devices[0].type: unknown device type "u"',
    );
    expect(failure((s) => (s.linux.resources = { pids: {} }))).toBe("linux.resources.pids.limit: is required");
    expect(failure((s) => (s.linux.resources = { cpu: { cpus: 1 } }))).toBe("linux.resources.cpu.cpus: must be a string");
    expect(failure((s) => (s.linux.resources = { blockIO: { weight: 70000 } }))).toBe(
      "linux.resources.blockIO.weight: must be at most 65535",
    );
    expect(failure((s) => (s.linux.resources = { unified: { "cpu.max": 5 } }))).toBe(
      'linux.resources.unified["cpu.max"]: must be a string',
    );
  });

  test("intelRdt closID names one directory", () => {
    for (const id of [".", "..", "a/b"]) {
      expect(failure((s) => (s.linux.intelRdt = { closID: id }))).toBe(`linux.intelRdt.closID: invalid CLOS id "${id}"`);
    }
  });

  test("personality", () => {
    expect(failure((s) => (s.linux.personality = { domain: "LINUX64" }))).toBe(
      'linux.personality.domain: unknown personality domain "LINUX64"',
    );
  });
});

describe("strings that reach the kernel as C strings have no NUL byte", () => {
  const nul = "must not contain a NUL byte";
  const cases: [string, (s: Json) => void][] = [
    ["hostname", (s) => (s.hostname = "box\0evil")],
    ["domainname", (s) => (s.domainname = "\0")],
    ["root.path", (s) => (s.root.path = "root\0fs")],
    ["process.args[0]", (s) => (s.process.args = ["/bin/sh\0"])],
    ["process.env[0]", (s) => (s.process.env = ["A=\0"])],
    ["process.cwd", (s) => (s.process.cwd = "/\0")],
    ["process.capabilities.bounding[0]", (s) => (s.process.capabilities = { bounding: ["CAP_KILL\0"] })],
    ["process.apparmorProfile", (s) => (s.process.apparmorProfile = "a\0")],
    ["process.selinuxLabel", (s) => (s.process.selinuxLabel = "a\0")],
    ["process.execCPUAffinity.initial", (s) => (s.process.execCPUAffinity = { initial: "0\0" })],
    ["mounts[0].destination", (s) => (s.mounts[0].destination = "/proc\0")],
    ["mounts[0].source", (s) => (s.mounts[0].source = "proc\0")],
    ["mounts[0].type", (s) => (s.mounts[0].type = "proc\0")],
    [
      "mounts[1].options[1]",
      (s) => s.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["rw", "size=1\0m"] }),
    ],
    ["hooks.prestart[0].path", (s) => (s.hooks = { prestart: [{ path: "/bin/true\0" }] })],
    ["hooks.poststop[0].args[1]", (s) => (s.hooks = { poststop: [{ path: "/bin/true", args: ["true", "a\0"] }] })],
    ["hooks.createRuntime[0].env[0]", (s) => (s.hooks = { createRuntime: [{ path: "/bin/true", env: ["A=\0"] }] })],
    ['linux.sysctl["net.ipv4.ip_forward\\u0000"]', (s) => (s.linux.sysctl = { "net.ipv4.ip_forward\0": "1" })],
    ['linux.sysctl["net.ipv4.ip_forward"]', (s) => (s.linux.sysctl = { "net.ipv4.ip_forward": "1\0" })],
    ["linux.cgroupsPath", (s) => (s.linux.cgroupsPath = "/a\0b")],
    ["linux.seccomp.listenerPath", (s) => (s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a\0b" })],
    ["linux.seccomp.listenerMetadata", (s) => (s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "\0" })],
    [
      "linux.seccomp.syscalls[0].names[0]",
      (s) => (s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read\0"], action: "SCMP_ACT_ERRNO" }] }),
    ],
    ["linux.maskedPaths[0]", (s) => (s.linux.maskedPaths = ["/proc/kcore\0"])],
    ["linux.readonlyPaths[0]", (s) => (s.linux.readonlyPaths = ["/proc/sys\0"])],
    ["linux.devices[0].path", (s) => (s.linux.devices = [{ path: "/dev/x\0", type: "c", major: 1, minor: 3 }])],
    ["linux.namespaces[0].path", (s) => (s.linux.namespaces[0].path = "/proc/1/ns/pid\0")],
    ["linux.mountLabel", (s) => (s.linux.mountLabel = "\0")],
    ["linux.resources.cpu.cpus", (s) => (s.linux.resources = { cpu: { cpus: "0\0" } })],
    ['linux.resources.unified["cpu.max"]', (s) => (s.linux.resources = { unified: { "cpu.max": "max\0" } })],
    [
      "linux.resources.hugepageLimits[0].pageSize",
      (s) => (s.linux.resources = { hugepageLimits: [{ pageSize: "2MB\0", limit: 1 }] }),
    ],
    ["linux.personality.flags[0]", (s) => (s.linux.personality = { domain: "LINUX", flags: ["\0"] })],
  ];
  for (const [path, change] of cases) {
    test(path, () => {
      expect(failure(change)).toBe(`${path}: ${nul}`);
    });
  }

  test("annotations only reach state.json, where JSON escapes them: any string is fine", () => {
    const s = base();
    s.annotations = { "a\0b": "c\0d" };
    expect(validateSpec(s).spec.annotations).toEqual({ "a\0b": "c\0d" });
  });
});

describe("every message is one line, whatever the value holds", () => {
  const lines = (change: (s: Json) => void) => failure(change).split("\n").length;

  test("values are quoted with JSON escapes", () => {
    expect(failure((s) => (s.process.cwd = "a\nb"))).toBe('process.cwd: must be an absolute path, not "a\\nb"');
    expect(failure((s) => (s.linux.namespaces[0].type = "pid\r\n"))).toBe(
      'linux.namespaces[0].type: unknown namespace type "pid\\r\\n"',
    );
    expect(failure((s) => (s.process.env = ["JUNK\u2028"]))).toBe('process.env[0]: must be NAME=value, not "JUNK\\u2028"');
    expect(failure((s) => (s.ociVersion = "1.0\n"))).toBe('ociVersion: "1.0\\n" is not a semantic version');
    expect(failure((s) => (s.linux.intelRdt = { closID: "a/\tb" }))).toBe('linux.intelRdt.closID: invalid CLOS id "a/\\tb"');
    expect(failure((s) => (s.process.execCPUAffinity = { final: "0\n1" }))).toBe(
      'process.execCPUAffinity.final: not a CPU list: "0\\n1"',
    );
    expect(failure((s) => (s.linux.resources = { devices: [{ allow: true, access: "r\n" }] }))).toBe(
      'linux.resources.devices[0].access: must be made of "r", "w" and "m" (other letters are ignored), not "r\\n"',
    );
    expect(lines((s) => (s.linux.rootfsPropagation = "\u0085x\x7f"))).toBe(1);
  });

  test("keys are quoted in paths", () => {
    expect(failure((s) => (s.linux.sysctl = { "kernel.x\ny": "1" }))).toBe(
      'linux.sysctl["kernel.x\\ny"]: not in a separate kernel namespace (it would change the host)',
    );
  });

  test("a very long value is cut short", () => {
    const message = failure((s) => (s.process.cwd = "x".repeat(100_000)));
    expect(message.length).toBeLessThan(400);
    expect(message).toContain("100000 characters");
  });

  test("warnings quote too", () => {
    expect(warnings((s) => (s.mounts[0].destination = "pr\noc"))).toEqual([
      { path: "mounts[0].destination", message: 'relative destination "pr\\noc" is deprecated, using "/pr\\noc"' },
    ]);
    expect(warnings((s) => (s.process.capabilities = { bounding: ["CAP_\n"] }))).toEqual([
      { path: "process.capabilities.bounding[0]", message: 'ignoring unknown capability "CAP_\\n"' },
    ]);
    expect(
      warnings((s) => s.mounts.push({ destination: "/x", type: "bind", source: "/srv/x", options: ["bind", "a\nb", "c"] })),
    ).toEqual([{ path: "mounts[1].options", message: 'filesystem-specific options on a bind mount are ignored ("a\\nb,c")' }]);
  });

  test("a newline in cgroupsPath is refused: the kernel refuses it in cgroup names", () => {
    expect(failure((s) => (s.linux.cgroupsPath = "/a\nb"))).toBe('linux.cgroupsPath: must not contain a newline, not "/a\\nb"');
  });
});

describe("nesting", () => {
  test("a document nested deeper than any config is refused with the path, not a stack overflow", () => {
    const s = base();
    let deep: Json = {};
    s.vm = deep;
    for (let i = 0; i < 100_000; i++) {
      deep.x = {};
      deep = deep.x;
    }
    expect(() => validateSpec(s)).toThrow(new SpecError("vm", "nested too deeply (more than 1000 levels)"));
    // Also where a library caller hands over a cycle.
    const cyclic = base();
    cyclic.linux.extra = cyclic.linux;
    expect(() => validateSpec(cyclic)).toThrow(new SpecError("linux", "nested too deeply (more than 1000 levels)"));
  });

  test("1000 levels are fine", () => {
    const s = base();
    let deep: Json = {};
    s.vm = deep;
    for (let i = 0; i < 998; i++) {
      deep.x = {};
      deep = deep.x;
    }
    expect(validateSpec(s).warnings).toEqual([]);
  });
});

describe("parseProcess (exec --process)", () => {
  test("checks like config.json's process", () => {
    const p = parseProcess({
      user: { uid: 0, gid: 0 },
      args: ["ls"],
      cwd: "/",
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }],
    });
    expect(p.args).toEqual(["ls"]);
    expect(() => parseProcess({ user: { uid: 0, gid: 0 }, args: [], cwd: "/" })).toThrow(
      "process.args: must be a non-empty array of strings",
    );
    expect(() => parseProcess([])).toThrow("process: must be an object");
    expect(() =>
      parseProcess({
        user: { uid: 0, gid: 0 },
        args: ["ls"],
        cwd: "/",
        rlimits: [
          { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
          { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
        ],
      }),
    ).toThrow('process.rlimits[1].type: duplicate rlimit type "RLIMIT_NOFILE" (first at process.rlimits[0])');
  });

  test("drops unknown capabilities with a warning", () => {
    const seen: SpecWarning[] = [];
    const p = parseProcess(
      { user: { uid: 0, gid: 0 }, args: ["ls"], cwd: "/", capabilities: { bounding: ["CAP_X", "CAP_KILL"] } },
      { onWarning: (w) => seen.push(w) },
    );
    expect(p.capabilities?.bounding).toEqual(["CAP_KILL"]);
    expect(seen).toEqual([{ path: "process.capabilities.bounding[0]", message: 'ignoring unknown capability "CAP_X"' }]);
  });
});

describe("rules", () => {
  test("the list, in order", () => {
    expect(SPEC_RULES.map((r) => r.name)).toEqual([
      "mount-destinations",
      "bind-mount-options",
      "id-mapped-mounts",
      "rlimits",
      "capabilities",
      "namespaces-unique",
      "id-mappings",
      "user-namespace",
      "time-namespace",
      "uts-namespace",
      "mount-namespace",
      "sysctl",
      "devices",
      "scheduler",
      "exec-cpu-affinity",
      "seccomp",
      "intel-rdt",
    ]);
    for (const rule of SPEC_RULES) expect(rule.description.length).toBeGreaterThan(10);
  });

  test("execCPUAffinity takes CPU lists", () => {
    const rule = SPEC_RULES.find((r) => r.name === "exec-cpu-affinity")!;
    const spec = validateSpec(base()).spec;
    spec.process.execCPUAffinity = { initial: "0-3,7", final: "1" };
    expect(runRule(rule, spec)).toEqual([]);
    spec.process.execCPUAffinity = { final: "1-x" };
    expect(() => runRule(rule, spec)).toThrow(new SpecError("process.execCPUAffinity.final", 'not a CPU list: "1-x"'));
  });

  test("a rule can run alone", () => {
    const uts = SPEC_RULES.find((r) => r.name === "uts-namespace")!;
    const spec = validateSpec(base()).spec;
    expect(runRule(uts, spec)).toEqual([]);
    spec.linux!.namespaces = [];
    expect(() => runRule(uts, spec)).toThrow(new SpecError("hostname", "unable to set hostname without a private UTS namespace"));
    const mountns = SPEC_RULES.find((r) => r.name === "mount-namespace")!;
    spec.linux!.maskedPaths = [];
    expect(runRule(mountns, spec)).toEqual([
      { path: "linux.namespaces", message: "no mount namespace: mounts are made in the runtime's own mount namespace" },
    ]);
  });

  test("formatIssuePath", () => {
    expect(formatIssuePath([{ key: "linux" }, { key: "namespaces" }, { key: 2 }, { key: "type" }])).toBe(
      "linux.namespaces[2].type",
    );
    expect(formatIssuePath([{ key: "sysctl" }, { key: "net.ipv4.ip_forward" }], "linux")).toBe(
      'linux.sysctl["net.ipv4.ip_forward"]',
    );
    expect(formatIssuePath([{ key: 0 }], "args")).toBe("args[0]");
    expect(formatIssuePath(undefined, "")).toBe("");
  });
});

describe("tables", () => {
  test("rlimit resource numbers (generic Linux)", () => {
    expect(RLIMITS).toEqual({
      RLIMIT_CPU: 0,
      RLIMIT_FSIZE: 1,
      RLIMIT_DATA: 2,
      RLIMIT_STACK: 3,
      RLIMIT_CORE: 4,
      RLIMIT_RSS: 5,
      RLIMIT_NPROC: 6,
      RLIMIT_NOFILE: 7,
      RLIMIT_MEMLOCK: 8,
      RLIMIT_AS: 9,
      RLIMIT_LOCKS: 10,
      RLIMIT_SIGPENDING: 11,
      RLIMIT_MSGQUEUE: 12,
      RLIMIT_NICE: 13,
      RLIMIT_RTPRIO: 14,
      RLIMIT_RTTIME: 15,
    });
    expect(RLIMIT_NAMES.length).toBe(16);
    expect(rlimitResource("RLIMIT_NOFILE")).toBe(7);
    expect(rlimitResource("RLIMIT_nofile")).toBeUndefined();
    expect(rlimitResource("toString")).toBeUndefined();
    expect(isRlimInfinity(JSON.parse("18446744073709551615"))).toBe(true);
    expect(isRlimInfinity(2 ** 63)).toBe(false);
    expect(rlimitValue(2 ** 64)).toBe(-1);
    expect(rlimitValue(0)).toBe(0);
  });

  test("namespace flags and /proc names", () => {
    expect(CLONE).toEqual({
      pid: 0x20000000,
      network: 0x40000000,
      mount: 0x20000,
      ipc: 0x08000000,
      uts: 0x04000000,
      user: 0x10000000,
      cgroup: 0x02000000,
      time: 0x80,
    });
    expect(NS_PROC_NAME).toEqual({
      pid: "pid",
      network: "net",
      mount: "mnt",
      ipc: "ipc",
      uts: "uts",
      user: "user",
      cgroup: "cgroup",
      time: "time",
    });
    expect(NAMESPACE_TYPES).toEqual(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]);
    expect(namespaceFlags(["pid", "network", "mount"])).toBe(0x60020000);
    expect(namespaceFlags(NAMESPACE_TYPES)).toBe(0x7e020080);
  });
});
