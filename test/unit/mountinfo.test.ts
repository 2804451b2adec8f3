import { expect, test } from "bun:test";
import { mountPointOf, unescapeMountPath } from "../../src/sys/mountinfo.ts";

const mountinfo = [
  "21 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  "30 21 0:26 / /tmp rw,nosuid shared:2 - tmpfs tmpfs rw",
  "31 30 0:27 / /tmp/with\\040space rw shared:3 - tmpfs tmpfs rw",
  "32 21 0:28 / /tmpx rw shared:4 - tmpfs tmpfs rw",
].join("\n");

test("the longest mount point that holds the path", () => {
  expect(mountPointOf("/tmp/b/rootfs", mountinfo)).toBe("/tmp");
  expect(mountPointOf("/tmp", mountinfo)).toBe("/tmp");
  expect(mountPointOf("/tmpx/rootfs", mountinfo)).toBe("/tmpx");
  expect(mountPointOf("/tmp/with space/rootfs", mountinfo)).toBe("/tmp/with space");
  expect(mountPointOf("/var/lib/x", mountinfo)).toBe("/");
});

test("octal escapes are undone", () => {
  expect(unescapeMountPath("/a\\040b\\011c\\134d")).toBe("/a b\tc\\d");
});
