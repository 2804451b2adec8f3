// The runtime's state files: state.json (a damaged one is a clear error, not a crash later) and
// cgroup.json, the record of the cgroup directories husk made. In a temp dir; no root needed.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HuskError } from "../../src/errors.ts";
import { deepFreeze } from "../../src/oci/frozen.ts";
import type { Spec } from "../../src/oci/types.ts";
import { specToJson } from "../../src/runtime/spec-json.ts";
import {
  type CgroupRecord,
  readCgroupRecord,
  readState,
  type SavedState,
  writeCgroupRecord,
  writeState,
} from "../../src/runtime/state.ts";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "husk-state-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("state files", () => {
  const state = (): SavedState => ({
    ociVersion: "1.2.0",
    id: "c1",
    pid: 12,
    pidStartTime: "345",
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "2024-01-01T00:00:00Z",
    owner: "",
    cgroupPaths: { memory: "/sys/fs/cgroup/memory/c1" },
    spec: { ociVersion: "1.2.0" },
  });

  function thrown(fn: () => unknown): string {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(HuskError);
      return (e as Error).message;
    }
    throw new Error("expected a HuskError");
  }

  test("a state.json round-trips; a missing one means the container does not exist", () => {
    fs.mkdirSync(`${tmp}/c1`);
    expect(thrown(() => readState(tmp, "c1"))).toBe("container does not exist");
    writeState(`${tmp}/c1`, state());
    expect(readState(tmp, "c1")).toEqual(state());
  });

  test("a create's second write reuses the spec's JSON from its first: the file is the same as written whole", () => {
    fs.mkdirSync(`${tmp}/c1`);
    const st = state();
    const specJson = JSON.stringify(st.spec);
    writeState(`${tmp}/c1`, st, specJson);
    st.pid = 4242;
    st.pidStartTime = "777";
    writeState(`${tmp}/c1`, st, specJson);
    expect(readState(tmp, "c1")).toEqual(st);
    expect(JSON.parse(fs.readFileSync(`${tmp}/c1/state.json`, "utf8"))).toEqual(JSON.parse(JSON.stringify(st)));
  });

  test("a damaged state.json is an error naming the file and what is wrong", () => {
    fs.mkdirSync(`${tmp}/c1`);
    fs.writeFileSync(`${tmp}/c1/state.json`, "{}");
    expect(thrown(() => readState(tmp, "c1"))).toBe(
      `corrupt state file ${tmp}/c1/state.json: missing or invalid id, pid, pidStartTime, bundle, cgroupPaths, spec`,
    );
    fs.writeFileSync(`${tmp}/c1/state.json`, "not json");
    expect(thrown(() => readState(tmp, "c1"))).toStartWith(`corrupt state file ${tmp}/c1/state.json: not valid JSON (`);
    fs.writeFileSync(`${tmp}/c1/state.json`, JSON.stringify({ ...state(), pid: "12" }));
    expect(thrown(() => readState(tmp, "c1"))).toEndWith(": missing or invalid pid");
  });

  test("the cgroup record round-trips, is absent until written, and a damaged one is an error", () => {
    const dir = `${tmp}/c1`;
    fs.mkdirSync(dir);
    expect(readCgroupRecord(dir)).toBeUndefined();
    const record: CgroupRecord = { paths: { memory: "/m/c1" }, created: ["/m/c1"], pending: true };
    writeCgroupRecord(dir, record);
    expect(readCgroupRecord(dir)).toEqual(record);
    expect(fs.readdirSync(dir)).toEqual(["cgroup.json"]);
    fs.writeFileSync(`${dir}/cgroup.json`, '{"paths":{}}');
    expect(thrown(() => readCgroupRecord(dir))).toBe(`corrupt cgroup record ${dir}/cgroup.json: expected {paths, created}`);
  });
});

describe("specToJson", () => {
  const spec = (linux: Spec["linux"]): Spec => ({ ociVersion: "1.2.0", root: { path: "rootfs" }, linux });
  const profile = () => ({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }] });

  test("is the spec's JSON, a deep-frozen seccomp profile's made once and put in whole", () => {
    const frozen = deepFreeze(profile()) as NonNullable<Spec["linux"]>["seccomp"];
    for (const s of [
      spec({ seccomp: frozen, maskedPaths: ["/proc/kcore"] }),
      spec({ seccomp: frozen }),
      spec({ seccomp: profile() as NonNullable<Spec["linux"]>["seccomp"], readonlyPaths: ["/proc/sys"] }),
      spec(undefined),
    ]) {
      expect(JSON.parse(specToJson(s))).toEqual(JSON.parse(JSON.stringify(s)));
    }
    // The same text for the same frozen profile in another spec: from the memo.
    const a = specToJson(spec({ seccomp: frozen, maskedPaths: ["/a"] }));
    const b = specToJson(spec({ seccomp: frozen, maskedPaths: ["/b"] }));
    expect(a.slice(a.indexOf('"seccomp"'))).toBe(b.slice(b.indexOf('"seccomp"')));
  });
});
