/**
 * The pure parts of husk top and husk stats: ps output filtered by pid, docker's memory figure
 * on v1 and v2 memory.stat keys, limits, net/dev and /proc/stat parsing, CPU % and the sizes
 * docker prints.
 */
import { expect, test } from "bun:test";
import { emptyStats } from "../../src/cgroups/stats.ts";
import { humanSize } from "../../src/cli/engine/stats.ts";
import {
  blockBytes,
  type ContainerStats,
  cpuPercent,
  hostCpu,
  memoryLimit,
  memoryUsage,
  netTotals,
} from "../../src/engine/stats.ts";
import { filterPs } from "../../src/engine/top.ts";

test("filterPs keeps the container's rows and the command's spaces; no PID column is an error", () => {
  const out = "UID  PID  PPID CMD\nroot 10 1 sh -c sleep 5\nroot 11 10 sleep 5\nroot 12 1 other\n";
  expect(filterPs(out, new Set([10, 11]))).toEqual({
    titles: ["UID", "PID", "PPID", "CMD"],
    processes: [
      ["root", "10", "1", "sh -c sleep 5"],
      ["root", "11", "10", "sleep 5"],
    ],
  });
  expect(() => filterPs("COMMAND\nsh\n", new Set([1]))).toThrow("no PID column");
});

test("memory: usage without inactive file cache, v1 and v2 keys; the host's memory when unlimited", () => {
  const v1 = emptyStats();
  v1.memory.usage.usage = 1000;
  v1.memory.raw = { total_inactive_file: 300, inactive_file: 100 };
  expect(memoryUsage(v1)).toBe(700);
  const v2 = emptyStats();
  v2.memory.usage.usage = 1000;
  v2.memory.raw = { inactive_file: 400 };
  expect(memoryUsage(v2)).toBe(600);
  v2.memory.raw = { inactive_file: 4000 };
  expect(memoryUsage(v2)).toBe(1000);
  v1.memory.usage.limit = Number("9223372036854771712"); // v1 unlimited
  expect(memoryLimit(v1, 8e9)).toBe(8e9);
  v2.memory.usage.limit = 2 ** 64; // v2 "max"
  expect(memoryLimit(v2, 8e9)).toBe(8e9);
  v2.memory.usage.limit = 64 << 20;
  expect(memoryLimit(v2, 8e9)).toBe(64 << 20);
});

test("block I/O sums reads and writes over devices (v1 ops are capitalised, v2 made the same)", () => {
  const s = emptyStats();
  s.blkio.ioServiceBytesRecursive = [
    { major: 8, minor: 0, op: "Read", value: 10 },
    { major: 8, minor: 0, op: "Write", value: 20 },
    { major: 8, minor: 0, op: "Total", value: 30 },
    { major: 8, minor: 16, op: "Read", value: 5 },
  ];
  expect(blockBytes(s)).toEqual({ read: 15, write: 20 });
});

test("net/dev without lo, /proc/stat in ns, CPU % as docker computes it", () => {
  const dev = `Inter-|   Receive |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
  eth0:   1200      10    0    0    0     0          0         0      3400      20    0    0    0     0       0          0
  eth1:     10       1    0    0    0     0          0         0        20       1    0    0    0     0       0          0
`;
  expect(netTotals(dev)).toEqual({ rx: 1210, tx: 3420 });
  const stat = "cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\ncpu1 50 0 25 400 5 0 0 0 0 0\nintr 1\n";
  expect(hostCpu(stat)).toEqual({ ns: 960 * 1e7, cpus: 2 });
  const at = (cpu: number, system: number) =>
    ({ running: true, cpuTotalNs: cpu, systemCpuNs: system, onlineCpus: 2 }) as ContainerStats;
  // Half of all host CPU time over the interval, on 2 CPUs: one CPU's worth, 100%.
  expect(cpuPercent(at(0, 0), at(5e8, 1e9))).toBe(100);
  expect(cpuPercent(undefined, at(5e8, 1e9))).toBe(0);
  expect(cpuPercent(at(5e8, 1e9), at(5e8, 1e9))).toBe(0);
});

test("sizes as docker prints them: decimal for I/O, binary for memory", () => {
  expect(humanSize(0)).toBe("0B");
  expect(humanSize(1234)).toBe("1.23kB");
  expect(humanSize(999)).toBe("999B");
  expect(humanSize(5_500_000)).toBe("5.5MB");
  expect(humanSize(184 * 1024, true)).toBe("184KiB");
  expect(humanSize(64 * 1024 * 1024, true)).toBe("64MiB");
  expect(humanSize(1.5 * 1024 ** 3, true)).toBe("1.5GiB");
});
