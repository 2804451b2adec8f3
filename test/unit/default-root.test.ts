/** runc's rules for the state root and for rootless cgroups, on callers described in full. */
import { expect, test } from "bun:test";
import { DEFAULT_ROOT, defaultRoot, isRootless, runningInUserNs } from "../../src/runtime/default-root.ts";

const HOST_MAP = "         0          0 4294967295\n";
const PODMAN_MAP = "         0       1000          1\n         1     100000      65536\n";

test("a uid_map other than the identity is a user namespace", () => {
  expect(runningInUserNs(HOST_MAP)).toBe(false);
  expect(runningInUserNs(PODMAN_MAP)).toBe(true);
});

test("the state root: /run/husk for root, $XDG_RUNTIME_DIR/husk for a rootless caller that has one", () => {
  const xdg = { XDG_RUNTIME_DIR: "/run/user/1000" };
  expect(defaultRoot({ euid: 0, env: xdg, uidMap: HOST_MAP })).toBe(DEFAULT_ROOT);
  expect(defaultRoot({ euid: 1000, env: xdg, uidMap: HOST_MAP })).toBe("/run/user/1000/husk");
  expect(defaultRoot({ euid: 1000, env: {}, uidMap: HOST_MAP })).toBe(DEFAULT_ROOT);
  // Rootless podman: root of a user namespace, USER the real user's.
  expect(defaultRoot({ euid: 0, env: { ...xdg, USER: "alice" }, uidMap: PODMAN_MAP })).toBe("/run/user/1000/husk");
  expect(defaultRoot({ euid: 0, env: { ...xdg }, uidMap: PODMAN_MAP })).toBe("/run/user/1000/husk");
  expect(defaultRoot({ euid: 0, env: { ...xdg, USER: "root" }, uidMap: PODMAN_MAP })).toBe(DEFAULT_ROOT);
});

test("rootless cgroups: as asked, or auto when not root or root of a user namespace", () => {
  expect(isRootless("auto", { euid: 0, env: {}, uidMap: HOST_MAP })).toBe(false);
  expect(isRootless("auto", { euid: 1000, env: {}, uidMap: HOST_MAP })).toBe(true);
  expect(isRootless("auto", { euid: 0, env: {}, uidMap: PODMAN_MAP })).toBe(true);
  expect(isRootless(true, { euid: 0, env: {}, uidMap: HOST_MAP })).toBe(true);
  expect(isRootless(false, { euid: 1000, env: {}, uidMap: HOST_MAP })).toBe(false);
});
