// The capability table must match include/uapi/linux/capability.h number for number: a
// shifted entry would grant the wrong privilege.
import { describe, expect, test } from "bun:test";
import {
  CAP_LAST_CAP,
  CAPABILITIES,
  capMask,
  capName,
  capNames,
  capNumber,
  isCapabilityName,
} from "../../src/oci/capabilities.ts";

// From linux/capability.h (6.x), in number order.
const KERNEL = `CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
  NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
  SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
  AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
  PERFMON BPF CHECKPOINT_RESTORE`
  .split(/\s+/)
  .map((n) => `CAP_${n}`);

describe("capability table", () => {
  test("has the 41 kernel capabilities in number order", () => {
    expect(CAPABILITIES.length).toBe(41);
    expect<string[]>([...CAPABILITIES]).toEqual(KERNEL);
    expect(CAP_LAST_CAP).toBe(40);
  });

  test("numbers of well-known capabilities", () => {
    expect(capNumber("CAP_CHOWN")).toBe(0);
    expect(capNumber("CAP_KILL")).toBe(5);
    expect(capNumber("CAP_NET_BIND_SERVICE")).toBe(10);
    expect(capNumber("CAP_NET_ADMIN")).toBe(12);
    expect(capNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capNumber("CAP_AUDIT_WRITE")).toBe(29);
    expect(capNumber("CAP_SETFCAP")).toBe(31);
    expect(capNumber("CAP_AUDIT_READ")).toBe(37);
    expect(capNumber("CAP_PERFMON")).toBe(38);
    expect(capNumber("CAP_BPF")).toBe(39);
    expect(capNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
  });

  test("names are exact: no case folding, no missing prefix", () => {
    expect(capNumber("cap_chown")).toBeUndefined();
    expect(capNumber("CHOWN")).toBeUndefined();
    expect(capNumber("CAP_FOO")).toBeUndefined();
    expect(isCapabilityName("CAP_BPF")).toBe(true);
    expect(isCapabilityName("CAP_bpf")).toBe(false);
    // Not fooled by Object.prototype members.
    expect(capNumber("constructor")).toBeUndefined();
    expect(isCapabilityName("toString")).toBe(false);
  });

  test("capName is the inverse of capNumber", () => {
    expect(capName(0)).toBe("CAP_CHOWN");
    expect(capName(21)).toBe("CAP_SYS_ADMIN");
    expect(capName(40)).toBe("CAP_CHECKPOINT_RESTORE");
    expect(capName(41)).toBeUndefined();
    expect(capName(-1)).toBeUndefined();
    for (let i = 0; i <= CAP_LAST_CAP; i++) expect(capNumber(capName(i)!)).toBe(i);
  });
});

describe("capMask", () => {
  test("sets bit N for capability N", () => {
    expect(capMask([])).toBe(0n);
    expect(capMask(["CAP_CHOWN"])).toBe(1n);
    expect(capMask(["CAP_CHOWN", "CAP_KILL"])).toBe(0b100001n);
    expect(capMask(["CAP_CHECKPOINT_RESTORE"])).toBe(1n << 40n);
    // runc's default set: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
    expect(capMask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])).toBe(0x20000420n);
  });

  test("covers bits above 31 without sign trouble", () => {
    expect(capMask(["CAP_SETFCAP", "CAP_MAC_OVERRIDE"])).toBe(0x180000000n);
    expect(capMask(CAPABILITIES)).toBe((1n << 41n) - 1n);
  });

  test("duplicates and order do not matter", () => {
    expect(capMask(["CAP_KILL", "CAP_CHOWN", "CAP_KILL"])).toBe(capMask(["CAP_CHOWN", "CAP_KILL"]));
  });

  test("an unknown name is a bug and throws", () => {
    expect(() => capMask(["CAP_KILL", "CAP_FOO"])).toThrow('unknown capability "CAP_FOO"');
  });

  test("capNames lists a mask's capabilities in number order", () => {
    expect(capNames(0n)).toEqual([]);
    expect(capNames(0x20000420n)).toEqual(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]);
    expect(capNames(capMask(CAPABILITIES))).toEqual([...CAPABILITIES]);
    // Bits the table does not know are ignored.
    expect(capNames(1n << 50n)).toEqual([]);
  });
});
