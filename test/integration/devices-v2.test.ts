/**
 * Device rules on cgroup v2, where the kernel enforces them only through an eBPF program the
 * helper attaches. This host is hybrid (v1 devices controller), so each test runs husk in a
 * private mount namespace with the cgroup2 hierarchy mounted over /sys/fs/cgroup: husk then
 * sees a pure v2 machine, as on Debian 12 or Fedora, and the program is what denies access.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { nextId } from "../fixtures/container.ts";
import { describeAsRoot, HUSK, TEST_ROOT } from "../fixtures/husk.ts";
import { makeBundle, type TestBundle } from "../fixtures/rootfs.ts";

const bundles: TestBundle[] = [];
afterEach(() => {
  for (const b of bundles.splice(0)) b.remove();
});

/** Run a shell script in a new mount namespace where /sys/fs/cgroup is the cgroup2 tree. */
async function inV2Namespace(script: string, env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn(
    ["unshare", "-m", "--propagation", "private", "sh", "-c", `mount -t cgroup2 none /sys/fs/cgroup || exit 90\n${script}`],
    { env: { ...process.env, H: `${HUSK} --root ${TEST_ROOT}`, ...env }, stdout: "pipe", stderr: "pipe" },
  );
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect(await proc.exited, err).toBe(0);
  return out + err;
}

describeAsRoot("device rules on cgroup v2", () => {
  test("the eBPF filter denies what the rules deny, and update replaces it", async () => {
    const b = makeBundle(["sleep", "60"], (spec) => {
      spec.linux = {
        ...spec.linux,
        // /dev/kmsg can be opened for writing by anyone; only the device rules stand in the way.
        devices: [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o666 }],
        resources: { devices: [{ allow: false, access: "rwm" }] },
        namespaces: (spec.linux?.namespaces ?? []).filter((n) => n.type !== "cgroup"),
      };
    });
    bundles.push(b);
    const id = nextId();
    const allowKmsg = JSON.stringify({
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 11, access: "w" },
      ],
    });
    const env = { B: b.dir, ID: id, ALLOW: allowKmsg };
    let out: string;
    try {
      out = await inV2Namespace(
        `$H create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1 || exit 91
$H start "$ID" || exit 92
$H exec "$ID" sh -c ': > /dev/kmsg'; echo "before=$?"
$H exec "$ID" sh -c ': > /dev/null'; echo "null=$?"
echo "$ALLOW" | $H update -r - "$ID"; echo "update=$?"
$H exec "$ID" sh -c ': > /dev/kmsg'; echo "after=$?"
$H exec "$ID" sh -c ': < /dev/kmsg'; echo "read=$?"
$H exec "$ID" sh -c ': > /dev/null'; echo "null=$?"
$H delete --force "$ID"; echo "deleted=$?"`,
        env,
      );
    } finally {
      // Whatever failed above: the container was made where husk saw cgroup2, delete it there.
      await inV2Namespace('$H delete --force "$ID"', env);
    }
    expect(out).toContain("before=1");
    expect(out).toContain("Operation not permitted");
    expect(out).toContain("update=0");
    expect(out).toContain("after=0");
    // The update allowed writing only.
    expect(out).toContain("read=1");
    expect(out.match(/null=0/g)).toHaveLength(2);
    expect(out).toContain("deleted=0");
    // The same cgroup2 hierarchy is mounted at /sys/fs/cgroup/unified out here: nothing is left.
    expect(existsSync(`/sys/fs/cgroup/unified/husk/${id}`)).toBe(false);
  });
});
