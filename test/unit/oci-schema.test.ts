// checkShape on its own: what validate.ts relies on beyond the messages (spec-validate.test.ts).
import { describe, expect, test } from "bun:test";
import { checkShape } from "../../src/oci/schema.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON.
type Json = any;

function minimal(): Json {
  return { ociVersion: "1.2.0", root: { path: "rootfs" }, process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" } };
}

function output(input: Json): Json {
  const result = checkShape("spec", input);
  if (!result.ok) throw new Error(result.message);
  return result.output;
}

describe("checkShape", () => {
  test("members come out in the spec's order, extension members after them", () => {
    const input = { vm: {}, linux: { maskedPaths: [], extra: 1, namespaces: [] }, process: minimal().process, ...minimal() };
    const out = output(input);
    expect(Object.keys(out)).toEqual(["ociVersion", "root", "process", "linux", "vm"]);
    expect(Object.keys(out.linux)).toEqual(["namespaces", "maskedPaths", "extra"]);
  });

  test("objects and arrays are copies; the input is left alone", () => {
    const input = minimal();
    input.mounts = [{ destination: "/proc", options: ["nosuid"] }];
    const before = JSON.stringify(input);
    const out = output(input);
    expect(out).toEqual(input);
    expect(out.process).not.toBe(input.process);
    expect(out.mounts).not.toBe(input.mounts);
    expect(out.mounts[0].options).not.toBe(input.mounts[0].options);
    expect(JSON.stringify(input)).toBe(before);
  });

  test("prototype-pollution names are dropped from objects and maps", () => {
    const input = JSON.parse(
      '{"ociVersion":"1.2.0","root":{"path":"r"},"process":{"user":{"uid":0,"gid":0},"args":["a"],"cwd":"/"},' +
        '"prototype":1,"constructor":2,"annotations":{"__proto__":"x","constructor":"y","prototype":"z","k":"v"}}',
    );
    const out = output(input);
    expect(Object.keys(out)).toEqual(["ociVersion", "root", "process", "annotations"]);
    expect(Object.keys(out.annotations)).toEqual(["k"]);
    expect(Object.getPrototypeOf(out.annotations)).toBe(Object.prototype);
  });

  test('rootfsPropagation "" comes out undefined', () => {
    const input = minimal();
    input.linux = { rootfsPropagation: "" };
    expect(output(input).linux.rootfsPropagation).toBeUndefined();
  });

  test("the first problem gives the path to it, keys and indexes", () => {
    const input = minimal();
    input.linux = { sysctl: { "net.ipv4.ip_forward": 1 }, namespaces: [{ type: "pid" }, { type: "foo" }] };
    expect(checkShape("spec", input)).toEqual({
      ok: false,
      path: [{ key: "linux" }, { key: "sysctl" }, { key: "net.ipv4.ip_forward" }],
      message: "must be a string",
    });
    delete input.linux.sysctl;
    expect(checkShape("spec", input)).toEqual({
      ok: false,
      path: [{ key: "linux" }, { key: "namespaces" }, { key: 1 }, { key: "type" }],
      message: 'unknown namespace type "foo"',
    });
  });

  test("a bad map key is reported at that key", () => {
    const input = minimal();
    input.linux = { timeOffsets: { monotonic: {}, realtime: { secs: "x" } } };
    expect(checkShape("spec", input)).toEqual({
      ok: false,
      path: [{ key: "linux" }, { key: "timeOffsets" }, { key: "realtime" }],
      message: 'unknown clock "realtime" (only monotonic and boottime can be offset)',
    });
  });

  test("a problem is reported the same on a second run (no state carried over)", () => {
    const bad = minimal();
    bad.process.args = ["a", "b\0"];
    const first = checkShape("spec", bad);
    expect(output(minimal()).process.args).toEqual(["sh"]);
    expect(checkShape("spec", bad)).toEqual(first);
    expect(first).toEqual({
      ok: false,
      path: [{ key: "process" }, { key: "args" }, { key: 1 }],
      message: "must not contain a NUL byte",
    });
  });

  test("process.json alone", () => {
    expect(checkShape("process", minimal().process)).toEqual({ ok: true, output: minimal().process });
    expect(checkShape("process", { args: ["a"], cwd: "/" })).toEqual({
      ok: false,
      path: [{ key: "user" }],
      message: "is required",
    });
  });
});
