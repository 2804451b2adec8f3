// Pure cgroup logic: layout detection, cgroupsPath resolution, unit conversions, device rule
// evaluation, validation, stats JSON. No root, no filesystem (beyond a missing v2 root).
import { describe, expect, test } from "bun:test";
import {
  blkioWeightToIoWeight,
  CgroupError,
  cgroupFeatures,
  compileDeviceFilter,
  defaultDeviceRules,
  detectCgroupLayout,
  emptyStats,
  emulateDeviceRules,
  hugePageSizeName,
  type LinuxDeviceCgroup,
  type LinuxResources,
  parseCpuList,
  parseProcCgroup,
  resolveCgroupPath,
  runDeviceFilter,
  sharesToWeight,
  statsToJSON,
  swapToV2,
  UNLIMITED,
  v1DeviceWriteRuns,
  v1DeviceWrites,
  validateResources,
} from "../../src/cgroups/index.ts";
import { hierarchyDir } from "../../src/cgroups/paths.ts";

// Debian 10 / CentOS 7 style: every controller on v1, cpu+cpuacct and net_cls+net_prio co-mounted.
const v1Mountinfo = `21 60 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 21 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
29 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
31 25 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpuset,clone_children
33 25 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
34 25 0:33 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,devices
35 25 0:34 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,freezer
36 25 0:35 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,blkio
37 25 0:36 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,hugetlb,release_agent=/x
`;

// Debian 12 / Fedora: cgroup2 only.
const v2Mountinfo = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

// This machine: v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified.
const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

describe("detectCgroupLayout", () => {
  test("pure v1, with co-mounted controllers and the named systemd hierarchy", () => {
    const l = detectCgroupLayout(v1Mountinfo);
    expect(l.mode).toBe("v1");
    expect(l.v2Root).toBeUndefined();
    expect(l.v2Controllers).toEqual([]);
    expect(l.v1.get("cpu")).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.v1.get("cpuacct")).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.v1.get("net_prio")).toBe("/sys/fs/cgroup/net_cls,net_prio");
    expect(l.v1.get("name=systemd")).toBe("/sys/fs/cgroup/systemd");
    expect(l.v1.get("hugetlb")).toBe("/sys/fs/cgroup/hugetlb");
    // Mount options are not controllers.
    for (const opt of ["rw", "xattr", "clone_children", "release_agent=/x"]) expect(l.v1.has(opt)).toBe(false);
    expect([...l.v1.keys()].sort()).toEqual(
      [
        "blkio",
        "cpu",
        "cpuacct",
        "cpuset",
        "devices",
        "freezer",
        "hugetlb",
        "memory",
        "name=systemd",
        "net_cls",
        "net_prio",
        "pids",
      ].sort(),
    );
  });

  test("pure v2", () => {
    const l = detectCgroupLayout(v2Mountinfo);
    expect(l.mode).toBe("v2");
    expect(l.v2Root).toBe("/sys/fs/cgroup");
    expect(l.v1.size).toBe(0);
  });

  test("hybrid", () => {
    const l = detectCgroupLayout(hybridMountinfo);
    expect(l.mode).toBe("hybrid");
    expect(l.v2Root).toBe("/sys/fs/cgroup/unified");
    expect(l.v1.get("memory")).toBe("/sys/fs/cgroup/memory");
    expect(l.v1.get("freezer")).toBe("/sys/fs/cgroup/freezer");
  });

  test("a v2 mount beside only named v1 hierarchies is v2", () => {
    const l = detectCgroupLayout(`${v2Mountinfo}40 26 0:37 / /run/systemd-legacy rw,relatime - cgroup cgroup rw,name=systemd\n`);
    expect(l.mode).toBe("v2");
    expect(l.v1.get("name=systemd")).toBe("/run/systemd-legacy");
  });

  test("mount roots and escaped mountpoints are decoded", () => {
    const l = detectCgroupLayout(
      "50 40 0:30 /docker/abc /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory\n" +
        "51 40 0:31 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
    );
    expect(l.v1.get("memory")).toBe("/sys/fs/cgroup/my mem");
    expect(l.mountRoots.get("memory")).toBe("/docker/abc");
  });

  test("the first mount of a controller wins", () => {
    const l = detectCgroupLayout(
      "1 0 0:30 / /a rw - cgroup cgroup rw,memory\n2 0 0:30 / /b rw - cgroup cgroup rw,memory\n3 0 0:30 / /c rw - cgroup2 cgroup2 rw\n4 0 0:30 / /d rw - cgroup2 cgroup2 rw\n",
    );
    expect(l.v1.get("memory")).toBe("/a");
    expect(l.v2Root).toBe("/c");
  });

  test("mounts covered by a later mount, on their point or above it, are not there", () => {
    // crun's way round this machine: an empty tmpfs over the unified mount.
    const tmpfsOverUnified = `${hybridMountinfo}60 41 0:50 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n`;
    expect(detectCgroupLayout(tmpfsOverUnified).mode).toBe("v1");
    // A cgroup2 mount over all of /sys/fs/cgroup hides every v1 hierarchy below it.
    const l = detectCgroupLayout(`${hybridMountinfo}61 23 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`);
    expect(l.mode).toBe("v2");
    expect(l.v2Root).toBe("/sys/fs/cgroup");
    expect(l.v1.size).toBe(0);
    // …but what is mounted after it, on top, is visible again.
    const after = detectCgroupLayout(
      `${hybridMountinfo}61 23 0:38 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n62 61 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n`,
    );
    expect([...after.v1.keys()]).toEqual(["memory"]);
  });

  test("no cgroup mount is an error", () => {
    expect(() => detectCgroupLayout("22 1 0:21 / /sys rw - sysfs sysfs rw\n")).toThrow(/no cgroup filesystem is mounted/);
  });

  test("the real machine's table parses", () => {
    const l = detectCgroupLayout();
    expect(["v1", "v2", "hybrid"]).toContain(l.mode);
  });
});

test("parseProcCgroup", () => {
  const m = parseProcCgroup("12:cpu,cpuacct:/a\n9:name=systemd:/user.slice\n0::/init.scope\n");
  expect(m.get("cpu")).toBe("/a");
  expect(m.get("cpuacct")).toBe("/a");
  expect(m.get("name=systemd")).toBe("/user.slice");
  expect(m.get("")).toBe("/init.scope");
});

describe("resolveCgroupPath", () => {
  test("absent → /husk/<id>", () => {
    expect(resolveCgroupPath(undefined, "abc")).toBe("/husk/abc");
    expect(resolveCgroupPath("", "abc")).toBe("/husk/abc");
  });
  test("an id that cannot be a directory name is refused", () => {
    expect(() => resolveCgroupPath(undefined, "a/b")).toThrow(CgroupError);
    expect(() => resolveCgroupPath(undefined, "..")).toThrow(/cannot name a cgroup/);
  });
  test("absolute paths are cleaned and kept absolute", () => {
    expect(resolveCgroupPath("/machine/ctr", "x")).toBe("/machine/ctr");
    expect(resolveCgroupPath("//a/./b/../c/", "x")).toBe("/a/c");
    expect(resolveCgroupPath("/../../etc", "x")).toBe("/etc");
  });
  test("relative paths stay relative and cannot climb", () => {
    expect(resolveCgroupPath("a/b", "x")).toBe("a/b");
    expect(resolveCgroupPath("../../a", "x")).toBe("a");
  });
  test("the root or the parent itself is refused", () => {
    expect(() => resolveCgroupPath("/", "x")).toThrow(/names the parent cgroup itself/);
    expect(() => resolveCgroupPath("a/..", "x")).toThrow(CgroupError);
  });
  test("systemd slice:prefix:name form is refused clearly", () => {
    let err: unknown;
    try {
      resolveCgroupPath("system.slice:docker:abc", "x");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupError);
    expect((err as CgroupError).message).toBe(
      'linux.cgroupsPath: "system.slice:docker:abc" is in the systemd "slice:prefix:name" form; the systemd cgroup driver is not supported yet',
    );
    expect((err as CgroupError).field).toBe("linux.cgroupsPath");
    // An absolute path with colons is a plain cgroupfs path.
    expect(resolveCgroupPath("/a:b:c", "x")).toBe("/a:b:c");
  });
});

describe("hierarchyDir", () => {
  test("absolute paths hang off the mountpoint", () => {
    expect(hierarchyDir("/sys/fs/cgroup/memory", "/", "/husk/a", undefined, false)).toBe("/sys/fs/cgroup/memory/husk/a");
  });
  test("relative paths hang off our own cgroup (v1) or its parent (v2)", () => {
    expect(hierarchyDir("/sys/fs/cgroup/memory", "/", "c1", "/user.slice/s.scope", false)).toBe(
      "/sys/fs/cgroup/memory/user.slice/s.scope/c1",
    );
    expect(hierarchyDir("/sys/fs/cgroup", "/", "c1", "/user.slice/s.scope", true)).toBe("/sys/fs/cgroup/user.slice/c1");
    expect(hierarchyDir("/sys/fs/cgroup", "/", "c1", "/", true)).toBe("/sys/fs/cgroup/c1");
  });
  test("our cgroup is read relative to the mount's root", () => {
    expect(hierarchyDir("/sys/fs/cgroup/memory", "/docker/abc", "c1", "/docker/abc/sub", false)).toBe(
      "/sys/fs/cgroup/memory/sub/c1",
    );
    expect(() => hierarchyDir("/sys/fs/cgroup/memory", "/docker/abc", "c1", "/other", false)).toThrow(/outside the part/);
    expect(() => hierarchyDir("/sys/fs/cgroup/memory", "/", "c1", undefined, false)).toThrow(/no entry/);
  });
});

describe("conversions", () => {
  test("cpu shares → weight keeps min, default and max", () => {
    expect(sharesToWeight(0)).toBe(0);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(100);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(512)).toBe(59);
    expect(sharesToWeight(2048)).toBe(174);
    // monotonic
    let last = 0;
    for (let s = 2; s <= 262144; s *= 2) {
      expect(sharesToWeight(s)).toBeGreaterThanOrEqual(last);
      last = sharesToWeight(s);
    }
  });

  test("blkio weight → io.weight", () => {
    expect(blkioWeightToIoWeight(0)).toBe(0);
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
  });

  test("memory+swap → v2 swap.max", () => {
    expect(swapToV2(0, 100)).toEqual({ value: 0 });
    expect(swapToV2(-1, 100)).toEqual({ value: -1 });
    expect(swapToV2(0, -1)).toEqual({ value: -1 });
    expect(swapToV2(300, 100)).toEqual({ value: 200 });
    expect(swapToV2(100, 100)).toEqual({ value: 0 });
    expect(swapToV2(300, -1)).toEqual({ value: 300 });
    expect(swapToV2(300, 0)).toHaveProperty("error");
    expect(swapToV2(50, 100)).toHaveProperty("error");
  });

  test("huge page size names", () => {
    expect(hugePageSizeName(64)).toBe("64KB");
    expect(hugePageSizeName(2048)).toBe("2MB");
    expect(hugePageSizeName(1048576)).toBe("1GB");
    expect(hugePageSizeName(32768)).toBe("32MB");
  });

  test("cpu lists", () => {
    expect(parseCpuList("0-2,5,7-8\n")).toEqual([0, 1, 2, 5, 7, 8]);
    expect(parseCpuList("")).toEqual([]);
  });
});

describe("device rules", () => {
  const denyAll = { allow: false, access: "rwm" };
  test("v1 writes: deny everything, then the rules in order", () => {
    expect(
      v1DeviceWrites([
        denyAll,
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rw" },
      ]),
    ).toEqual([
      { file: "devices.deny", value: "a" },
      { file: "devices.deny", value: "a *:* rwm" },
      { file: "devices.allow", value: "c 1:3 rwm" },
      { file: "devices.allow", value: "c 136:* rw" },
    ]);
  });

  test("v1 writes to the same file in a row are one run (one open of the file), in order", () => {
    expect(
      v1DeviceWriteRuns([
        denyAll,
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 5, access: "w" },
        { allow: true, type: "c", major: 136, access: "rw" },
      ]),
    ).toEqual([
      { file: "devices.deny", values: ["a", "a *:* rwm"] },
      { file: "devices.allow", values: ["c 1:3 rwm", "c 1:5 rwm"] },
      { file: "devices.deny", values: ["c 1:5 w"] },
      { file: "devices.allow", values: ["c 136:* rw"] },
    ]);
    expect(v1DeviceWriteRuns([])).toEqual([{ file: "devices.deny", values: ["a"] }]);
  });

  test('letters other than r, w and m are ignored, as runc does (its tests deny "rwa"); a rule left with none writes nothing', () => {
    expect(
      v1DeviceWrites([
        denyAll,
        { allow: false, type: "c", major: 1, minor: 11, access: "rwa" },
        { allow: true, type: "c", major: 1, minor: 12, access: "a" },
      ]),
    ).toEqual([
      { file: "devices.deny", value: "a" },
      { file: "devices.deny", value: "a *:* rwm" },
      { file: "devices.deny", value: "c 1:11 rw" },
    ]);
    const state = emulateDeviceRules([
      { allow: true, access: "rwm" },
      { allow: false, type: "c", major: 1, minor: 11, access: "rwa" },
    ]);
    expect(runDeviceFilter(compileDeviceFilter(state), "c", 1, 11, "r")).toBe(false);
    expect(runDeviceFilter(compileDeviceFilter(state), "c", 1, 11, "m")).toBe(true);
  });

  test("v2 device filter: the v1 controller's semantics, compiled to eBPF and run", () => {
    const allowed = (rules: LinuxDeviceCgroup[], type: "b" | "c", major: number, minor: number, access: string) =>
      runDeviceFilter(compileDeviceFilter(emulateDeviceRules(rules)), type, major, minor, access);
    const usual = [denyAll, ...defaultDeviceRules];
    expect(allowed(usual, "c", 1, 3, "rw")).toBe(true); // /dev/null
    expect(allowed(usual, "c", 136, 7, "rw")).toBe(true); // a pty slave
    expect(allowed(usual, "b", 8, 0, "r")).toBe(false); // the host's disk
    expect(allowed(usual, "b", 8, 0, "m")).toBe(true); // mknod is allowed, opening is not
    expect(allowed(usual, "c", 1, 1, "r")).toBe(false); // /dev/mem
    // Default deny: one exception must cover every letter asked for.
    const split = [denyAll, { allow: true, type: "c", major: 4, minor: 1, access: "r" }];
    expect(allowed(split, "c", 4, 1, "r")).toBe(true);
    expect(allowed(split, "c", 4, 1, "rw")).toBe(false);
    // Letters of the same device merge into one exception, as in the kernel.
    expect(allowed([...split, { allow: true, type: "c", major: 4, minor: 1, access: "w" }], "c", 4, 1, "rw")).toBe(true);
    // A later deny takes letters away again.
    expect(allowed([...usual, { allow: false, type: "c", major: 1, minor: 3, access: "w" }], "c", 1, 3, "r")).toBe(true);
    expect(allowed([...usual, { allow: false, type: "c", major: 1, minor: 3, access: "w" }], "c", 1, 3, "rw")).toBe(false);
    // Default allow: a deny exception blocks any access sharing a letter with it.
    const open = [
      { allow: true, access: "rwm" },
      { allow: false, type: "b", major: 8, access: "w" },
    ];
    expect(allowed(open, "b", 8, 1, "r")).toBe(true);
    expect(allowed(open, "b", 8, 1, "rw")).toBe(false);
    expect(allowed(open, "c", 8, 1, "w")).toBe(true);
    // "a" resets whatever came before.
    expect(allowed([...usual, { allow: true, type: "a" }], "b", 8, 0, "rwm")).toBe(true);
    expect(allowed([{ allow: true, type: "a" }, denyAll], "c", 1, 3, "r")).toBe(false);
  });

  test("v2 device filter: program shape", () => {
    const state = emulateDeviceRules([denyAll, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }]);
    expect(state).toEqual({ defaultAllow: false, exceptions: [{ type: "c", major: 1, minor: 3, access: 6 }] });
    const program = compileDeviceFilter(state);
    // 6 loads/shifts, one exception of 3 tests + JSET + return, the default return.
    expect(program.length).toBe((6 + 6 + 2) * 8);
    expect([...program.slice(-16)]).toEqual([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]); // r0 = 0; exit
  });
});

describe("validateResources", () => {
  const bad: [string, LinuxResources, RegExp][] = [
    ["negative memory limit", { memory: { limit: -2 } }, /^linux\.resources\.memory\.limit: must be -1 \(unlimited\)/],
    ["fractional memory", { memory: { limit: 1.5 } }, /memory\.limit: must be an integer/],
    ["swap below limit", { memory: { limit: 200, swap: 100 } }, /memory\.swap: the memory\+swap limit \(100\) must not be lower/],
    ["swappiness", { memory: { swappiness: 101 } }, /memory\.swappiness: must be between 0 and 100/],
    ["shares", { cpu: { shares: 1 } }, /cpu\.shares: must be between 2 and 262144/],
    ["quota", { cpu: { quota: -5 } }, /cpu\.quota/],
    ["period", { cpu: { period: 10 } }, /cpu\.period: must be between 1000 and 1000000/],
    ["cpus", { cpu: { cpus: "0-a" } }, /cpu\.cpus: must be a list/],
    ["idle", { cpu: { idle: 2 } }, /cpu\.idle/],
    ["blkio weight", { blockIO: { weight: 5000 } }, /blockIO\.weight/],
    [
      "throttle rate",
      { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: -1 }] } },
      /throttleReadBpsDevice\[0\]\.rate/,
    ],
    ["page size", { hugepageLimits: [{ pageSize: "2M", limit: 1 }] }, /hugepageLimits\[0\]\.pageSize/],
    ["device type", { devices: [{ allow: true, type: "x" }] }, /devices\[0\]\.type/],
    ["device access", { devices: [{ allow: true, access: "r;w" }] }, /devices\[0\]\.access/],
    ["unified key with slash", { unified: { "../memory.max": "1" } }, /unified\["\.\.\/memory\.max"\]/],
    ["unified key without controller", { unified: { max: "1" } }, /controller\.parameter/],
  ];
  for (const [name, r, re] of bad) {
    test(`rejects ${name}`, () => {
      expect(() => validateResources(r)).toThrow(re);
    });
  }
  test("accepts a typical spec", () => {
    expect(() =>
      validateResources({
        memory: { limit: -1, swap: -1, reservation: 0, swappiness: 60 },
        cpu: { shares: 1024, quota: -1, period: 100000, cpus: "0-1", mems: "0" },
        pids: { limit: -1 },
        devices: [{ allow: false, access: "rwm" }, ...defaultDeviceRules],
        unified: { "memory.high": "max" },
      }),
    ).not.toThrow();
  });
});

test("statsToJSON prints u64 values exactly", () => {
  const s = emptyStats();
  s.memory.usage.limit = UNLIMITED;
  s.memory.kernel.limit = 2 ** 63 - 4096;
  s.pids.current = 3;
  const text = statsToJSON(s);
  expect(text).toContain('"usage":{"limit":18446744073709551615,');
  expect(text).toContain('"kernel":{"limit":9223372036854771712,');
  expect(text).toContain('"pids":{"current":3,"limit":0}');
  expect(() => JSON.parse(text)).not.toThrow();
});

test("cgroupFeatures", () => {
  expect(cgroupFeatures()).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false, rdma: false });
});
