/**
 * A deep-frozen spec section (an engine's default seccomp profile, shared by all its
 * containers) is checked and compiled once, then answered by identity. What must hold: the
 * answer is the one a fresh check gives; nothing short of deep-frozen (a frozen top over a
 * mutable array, a getter) is ever answered from the memo, so changing it after a first check
 * cannot slip a bad value past the second.
 */
import { describe, expect, test } from "bun:test";
import { deepFreeze, isDeepFrozen } from "../../src/oci/frozen.ts";
import { validateSpec } from "../../src/oci/validate.ts";
import { seccompCompiler } from "../../src/runtime/seccomp-cache.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON.
type Json = any;

function profile(): Json {
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64"],
    syscalls: [
      { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
    ],
  };
}

function spec(seccomp: Json): Json {
  return {
    ociVersion: "1.2.0",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["/bin/true"], cwd: "/" },
    linux: { namespaces: [{ type: "mount" }], seccomp, maskedPaths: ["/proc/kcore"] },
  };
}

describe("deep-frozen values", () => {
  test("frozen all the way down, cycles included; a mutable member, or a getter, is not", () => {
    expect(isDeepFrozen(deepFreeze(profile()))).toBe(true);
    const top = Object.freeze(profile());
    expect(isDeepFrozen(top)).toBe(false);
    const cyclic: Json = { a: { b: {} } };
    cyclic.a.b.back = cyclic;
    expect(isDeepFrozen(deepFreeze(cyclic))).toBe(true);
    // A cycle through a mutable object: no member of it counts as deep-frozen.
    const loop: Json = { inner: { open: [] } };
    loop.inner.back = loop;
    Object.freeze(loop);
    Object.freeze(loop.inner);
    expect(isDeepFrozen(loop)).toBe(false);
    expect(isDeepFrozen(loop.inner)).toBe(false);
    const getter = Object.freeze(Object.defineProperty({}, "names", { get: () => ["read"], enumerable: true }));
    expect(isDeepFrozen(getter)).toBe(false);
    expect(isDeepFrozen("text")).toBe(false);
    expect(isDeepFrozen(null)).toBe(false);
  });
});

describe("a deep-frozen seccomp section in a spec", () => {
  test("is checked once: the same frozen output each time, equal to a fresh check's", () => {
    const frozen = deepFreeze(profile());
    const first = validateSpec(spec(frozen)).spec;
    const second = validateSpec(spec(frozen)).spec;
    expect(second.linux?.seccomp).toBe(first.linux?.seccomp as Json);
    expect(isDeepFrozen(second.linux?.seccomp)).toBe(true);
    expect(second).toEqual(validateSpec(spec(profile())).spec);
    // In its place among linux's members, as a fresh check puts it.
    expect(Object.keys(second.linux ?? {})).toEqual(Object.keys(validateSpec(spec(profile())).spec.linux ?? {}));
  });

  test("a section frozen on top only is checked every time: a value changed after the first check is refused", () => {
    const shallow = Object.freeze(profile());
    validateSpec(spec(shallow));
    shallow.syscalls[0].names.push("evil\0name");
    expect(() => validateSpec(spec(shallow))).toThrow("linux.seccomp.syscalls[0].names[3]: must not contain a NUL byte");
  });

  test("a bad frozen section is refused each time, never remembered", () => {
    const bad = profile();
    bad.syscalls[1].args[0].index = 6;
    deepFreeze(bad);
    for (let i = 0; i < 2; i++) expect(() => validateSpec(spec(bad))).toThrow("linux.seccomp.syscalls[1].args[0].index");
  });

  test("the rules still run on a remembered section", () => {
    const notify = deepFreeze({ ...profile(), syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] });
    for (let i = 0; i < 2; i++) expect(() => validateSpec(spec(notify))).toThrow("linux.seccomp.listenerPath");
  });

  test("its filter is compiled once per process; an unfrozen profile's each time", async () => {
    const frozen = validateSpec(spec(deepFreeze(profile()))).spec.linux?.seccomp as Json;
    const once = (await seccompCompiler("/nonexistent/a", frozen))(frozen);
    expect((await seccompCompiler("/nonexistent/b", frozen))(frozen)).toBe(once);
    // Shared by every container of the profile: no one of them may change it.
    expect([Object.isFrozen(once), Object.isFrozen(once.warnings)]).toEqual([true, true]);
    const open = validateSpec(spec(profile())).spec.linux?.seccomp as Json;
    const compile = await seccompCompiler("/nonexistent/a", open);
    expect(compile(open)).not.toBe(compile(open));
    expect(compile(open).filter).toEqual(once.filter);
  });
});
