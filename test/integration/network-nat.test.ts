/**
 * NAT end to end, in a network namespace that plays the host (network-nat-scenario.ts under
 * `unshare --net --mount`): ensureNetwork turns ip_forward on there, a container reaches an
 * "outside" namespace masqueraded behind the host's address, and a published port answers from
 * outside (prerouting DNAT, forwarded) and from the host's own 127.0.0.1 (output DNAT). Nothing
 * of it touches the machine's own namespace.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeAsRoot } from "../fixtures/husk.ts";

const SCENARIO = join(import.meta.dir, "../fixtures/network-nat-scenario.ts");

describeAsRoot("network: NAT", () => {
  test("masquerade out, DNAT in from outside and from 127.0.0.1, ip_forward turned on", async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "husk-net-"));
    try {
      const inner = `mount -t sysfs sysfs /sys && mount -t tmpfs tmpfs /run/netns && exec "$0" "$1" "$2"`;
      const proc = Bun.spawn(
        ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", inner, process.execPath, SCENARIO, dataRoot],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const timer = setTimeout(() => proc.kill("SIGKILL"), 60000);
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      expect(err).toBe("");
      expect(code).toBe(0);
      const seen = JSON.parse(out);
      expect(seen).toEqual({
        forwardBefore: "0",
        forwardAfter: "1",
        gateway: "10.213.9.1",
        address: "10.213.9.2",
        ping: 0,
        fromContainer: "198.51.100.1\n", // masqueraded to the host's address on the way out
        fromOutside: "hello from c\n",
        fromLocalhost: "hello from c\n",
      });
    } finally {
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });
});
