/** Docker-style image references: parsing, normalisation, the familiar form, and clear errors. */
import { describe, expect, test } from "bun:test";
import { familiarString, normalizeRef, parseRef, refName } from "../../src/image/reference.ts";

const SHA = `sha256:${"a".repeat(64)}`;

describe("parseRef normalises like docker", () => {
  const cases: [string, string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/x", "docker.io/library/x:latest"],
    ["ns/x", "docker.io/ns/x:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/library/busybox:1", "docker.io/library/busybox:1"],
    ["registry.example:5000/ns/x:tag", "registry.example:5000/ns/x:tag"],
    ["registry.example:5000/x", "registry.example:5000/x:latest"],
    ["localhost/x", "localhost/x:latest"],
    ["localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3"],
    ["Registry/x", "Registry/x:latest"],
    ["[::1]:5000/x", "[::1]:5000/x:latest"],
    [`busybox@${SHA}`, `docker.io/library/busybox@${SHA}`],
    [`busybox:1@${SHA}`, `docker.io/library/busybox:1@${SHA}`],
    ["a_b__c-d---e/g.h", "docker.io/a_b__c-d---e/g.h:latest"],
  ];
  for (const [input, want] of cases) {
    test(`${input} → ${want}`, () => expect(normalizeRef(input)).toBe(want));
  }
});

test("the parts", () => {
  expect(parseRef("registry.example:5000/ns/x:tag")).toEqual({
    domain: "registry.example:5000",
    path: "ns/x",
    tag: "tag",
    digest: undefined,
  });
  const d = parseRef(`x@${SHA}`);
  expect(d.tag).toBeUndefined();
  expect(d.digest).toBe(SHA);
  expect(refName(parseRef("busybox"))).toBe("docker.io/library/busybox");
});

test("familiar form drops docker.io and library/", () => {
  expect(familiarString(parseRef("docker.io/library/busybox:latest"))).toBe("busybox:latest");
  expect(familiarString(parseRef("docker.io/ns/x:1"))).toBe("ns/x:1");
  expect(familiarString(parseRef("r.example/library/x:1"))).toBe("r.example/library/x:1");
  expect(familiarString(parseRef(`busybox@${SHA}`))).toBe(`busybox@${SHA}`);
});

describe("errors say what is wrong, on one line", () => {
  const cases: [string, RegExp][] = [
    ["", /empty reference/],
    ["Busybox", /must be lowercase/],
    ["busybox:", /bad tag ""/],
    ["busybox:-x", /bad tag "-x"/],
    [`busybox:${"t".repeat(129)}`, /bad tag/],
    ["busybox@sha256:abc", /not a sha256 digest/],
    ["busybox@nope", /bad digest/],
    ["a//b", /bad repository name component ""/],
    ["a/b_", /bad repository name component "b_"/],
    ["-x", /bad repository name component "-x"/],
    [":tag", /no repository name/],
    ["a".repeat(64), /64-character hexadecimal/],
    ["my-registry-.example/x", /bad registry/],
    [`r.example/${"a".repeat(250)}`, /longer than 255/],
  ];
  for (const [input, want] of cases) {
    test(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input), () => {
      let err: Error | undefined;
      try {
        parseRef(input);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.name).toBe("HuskError");
      expect(err?.message).toMatch(want);
      expect(err?.message).toStartWith(`image reference "${input}": invalid reference format`);
      expect(err?.message).not.toContain("\n");
    });
  }
});
