// `husk spec` must print what `runc spec` prints. The goldens are runc 1.1.5's output, byte for
// byte (tabs, key order, no trailing newline), captured once; only ociVersion differs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec, OCI_VERSION } from "../../src/oci/default-spec.ts";
import { validateSpec } from "../../src/oci/validate.ts";

function golden(name: string): string {
  const text = readFileSync(join(import.meta.dir, "fixtures", name), "utf8");
  return text.replace('"ociVersion": "1.0.2-dev"', `"ociVersion": "${OCI_VERSION}"`);
}

const print = (spec: unknown) => JSON.stringify(spec, null, "\t");

describe("defaultSpec", () => {
  test("ociVersion is 1.2.0", () => {
    expect(OCI_VERSION).toBe("1.2.0");
    expect(defaultSpec().ociVersion).toBe("1.2.0");
  });

  test("prints exactly as `runc spec`", () => {
    expect(print(defaultSpec())).toBe(golden("runc-1.1.5-spec.golden"));
  });

  test("prints exactly as `runc spec --rootless` run by root", () => {
    expect(print(defaultSpec({ rootless: true, hostUid: 0, hostGid: 0 }))).toBe(golden("runc-1.1.5-spec-rootless.golden"));
  });

  test("rootless maps the given host ids to root", () => {
    const spec = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1001 });
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
  });

  test("rootless defaults to this process's effective ids", () => {
    const spec = defaultSpec({ rootless: true });
    expect(spec.linux?.uidMappings?.[0]?.hostID).toBe(process.geteuid!());
    expect(spec.linux?.gidMappings?.[0]?.hostID).toBe(process.getegid!());
  });

  test("rootless differs from the default only where runc's does", () => {
    const rootful = defaultSpec();
    const rootless = defaultSpec({ rootless: true, hostUid: 0, hostGid: 0 });
    expect(rootless.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
    expect(rootful.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(rootless.linux?.resources).toBeUndefined();
    expect(rootful.linux?.resources).toEqual({ devices: [{ allow: false, access: "rwm" }] });
    expect(rootless.mounts?.[2]?.options).toEqual(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]);
    expect(rootless.mounts?.[5]).toEqual({
      destination: "/sys",
      type: "none",
      source: "/sys",
      options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
    });
    expect(rootless.process).toEqual(rootful.process);
  });

  test("args replace the default shell", () => {
    const args = ["/bin/echo", "hi"];
    const spec = defaultSpec({ args });
    expect(spec.process?.args).toEqual(["/bin/echo", "hi"]);
    args.push("changed");
    expect(spec.process?.args).toEqual(["/bin/echo", "hi"]);
    expect(defaultSpec().process?.args).toEqual(["sh"]);
  });

  test("each call returns a fresh object", () => {
    const a = defaultSpec();
    a.process?.capabilities?.bounding?.push("CAP_SYS_ADMIN");
    a.linux?.maskedPaths?.pop();
    a.mounts?.[1]?.options?.push("ro");
    expect(print(defaultSpec())).toBe(golden("runc-1.1.5-spec.golden"));
  });

  test("passes validation without warnings", () => {
    expect(validateSpec(JSON.parse(print(defaultSpec()))).warnings).toEqual([]);
    const rootless = JSON.parse(print(defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 })));
    expect(validateSpec(rootless, { rootless: true }).warnings).toEqual([]);
  });
});
