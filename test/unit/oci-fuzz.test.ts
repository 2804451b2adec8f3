/**
 * A bounded, seeded fuzz of the spec reader and validator: thousands of configs mutated from
 * the default spec (keys deleted, types changed, huge, negative and fractional numbers, NUL and
 * control characters in strings, deep nesting, huge arrays). Whatever comes in, validation
 * returns or throws a HuskError whose message is one line; never a TypeError, a RangeError
 * (stack overflow) or anything else. The seed is fixed, so a failure reproduces; it prints the
 * case number and the mutations that led to it.
 */
import { describe, expect, test } from "bun:test";
import { HuskError } from "../../src/errors.ts";
import { defaultSpec } from "../../src/oci/default-spec.ts";
import { parseJson } from "../../src/oci/json.ts";
import { parseProcess, validateSpec } from "../../src/oci/validate.ts";
import { prng } from "../fixtures/prng.ts";

// biome-ignore lint/suspicious/noExplicitAny: the fuzzer pokes at arbitrary JSON.
type Json = any;

const SEED = 0x5eed_c0de;
const CASES = 3000;

/** The default spec, and one that also uses most other fields, so mutations reach them. */
function seeds(): Json[] {
  const plain = defaultSpec({ args: ["sh", "-c", "true"] });
  const rootless = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 });
  const rich: Json = structuredClone(plain);
  Object.assign(rich.process, {
    consoleSize: { height: 24, width: 80 },
    user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 10] },
    scheduler: { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] },
    ioPriority: { class: "IOPRIO_CLASS_BE", priority: 4 },
    oomScoreAdj: 100,
    execCPUAffinity: { initial: "0-1", final: "0" },
  });
  rich.process.rlimits.push({ type: "RLIMIT_CORE", hard: 2 ** 64, soft: 0 });
  rich.hooks = {
    prestart: [{ path: "/bin/true", args: ["true", "x"], env: ["A=1"], timeout: 5 }],
    poststop: [{ path: "/bin/true" }],
  };
  rich.annotations = { "org.example.key": "value" };
  rich.domainname = "example.org";
  rich.mounts.push({
    destination: "/data",
    type: "bind",
    source: "/srv/data",
    options: ["rbind", "idmap"],
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  });
  Object.assign(rich.linux, {
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    sysctl: { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000" },
    cgroupsPath: "/husk/fuzz",
    devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }],
    seccomp: {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      listenerPath: "/run/agent.sock",
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["mount"], action: "SCMP_ACT_NOTIFY" },
        { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 1, value: 9, op: "SCMP_CMP_EQ" }] },
      ],
    },
    timeOffsets: { monotonic: { secs: 10, nanosecs: 5 } },
    personality: { domain: "LINUX" },
    rootfsPropagation: "rslave",
  });
  rich.linux.namespaces.push({ type: "user" }, { type: "time" });
  rich.linux.resources = {
    ...rich.linux.resources,
    memory: { limit: 1 << 30, swap: -1, swappiness: 10 },
    cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
    pids: { limit: 100 },
    blockIO: {
      weight: 500,
      weightDevice: [{ major: 8, minor: 0, weight: 100 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }],
    },
    hugepageLimits: [{ pageSize: "2MB", limit: 1 << 20 }],
    network: { classID: 1, priorities: [{ name: "eth0", priority: 1 }] },
    unified: { "memory.high": "max" },
  };
  return [plain, rootless, rich];
}

/** A random [container, key] in the document: a walk down from the top that stops at random. */
function randomSlot(rand: () => number, doc: Json): [Json, string | number] | undefined {
  let holder = doc;
  for (;;) {
    const keys: (string | number)[] = Array.isArray(holder) ? [...holder.keys()] : Object.keys(holder);
    if (keys.length === 0) return undefined;
    const key = keys[Math.floor(rand() * keys.length)]!;
    const value = holder[key];
    if (value === null || typeof value !== "object" || rand() < 0.25) return [holder, key];
    holder = value;
  }
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { x: value };
  return value;
}

const NUMBERS = [
  -1,
  -0.5,
  0.5,
  1.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 + 2,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e300,
  -1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
];
const STRINGS = [
  "",
  "\0",
  "a\0b",
  "/",
  "..",
  "/../../etc",
  "line\nbreak",
  "\r\n",
  "\t",
  "\u0085\u2028\u2029\u007f",
  "\u001b[31mred",
  "\ud800",
  "x".repeat(5000),
  "=",
  "NAME=",
  "SCMP_ACT_ALLOW",
  "RLIMIT_NOFILE",
  "user",
  "0-3,7",
  "18446744073709551616",
];

/** One random mutation of the value at (holder, key), described for the failure report. */
function mutate(rand: () => number, holder: Json, key: string | number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const old = holder[key];
  const set = (value: Json, what: string) => {
    holder[key] = value;
    return `${String(key)}: ${what}`;
  };
  switch (Math.floor(rand() * 12)) {
    case 0:
      if (Array.isArray(holder)) holder.splice(key as number, 1);
      else delete holder[key];
      return `${String(key)}: deleted`;
    case 1:
      return set(null, "null");
    case 2:
      return set(pick(NUMBERS), "a number");
    case 3:
      return set(pick(STRINGS), "a string");
    case 4:
      return set(pick([true, false, [], {}, [1, "a"], { a: 1 }]), "another type");
    case 5:
      if (typeof old === "string") {
        const at = Math.floor(rand() * (old.length + 1));
        return set(old.slice(0, at) + pick(["\0", "\n", "\r", "\u2028", "\u0007", "/..", "%"]) + old.slice(at), "a character");
      }
      return set(pick(STRINGS), "a string");
    case 6:
      if (typeof old === "number")
        return set(pick([old + 0.5, -old - 1, old * 2 ** 32, old + 2 ** 64, -old]), "number arithmetic");
      return set(pick(NUMBERS), "a number");
    case 7:
      return set(nested(pick([10, 990, 1001, 3000]), pick([1, "s", {}, []]), rand() < 0.5), "deep nesting");
    case 8: {
      // Copies of one small element (one shared object: the validator copies what it keeps).
      const small = Array.isArray(old) && old.length > 0 && JSON.stringify(old[0] ?? null).length < 500;
      const item = small ? old[0] : pick(STRINGS.filter((x) => x.length < 100));
      return set(
        Array.from({ length: pick([341, 10_000]) }, () => item),
        "a huge array",
      );
    }
    case 9:
      if (old !== null && typeof old === "object" && !Array.isArray(old)) {
        old[pick(["__proto__", "constructor", "x\0y", "", "extra", "path", "type"])] = pick([1, "s", null, {}]);
        return `${String(key)}: a key added`;
      }
      return set(structuredClone(old === undefined ? null : old), "unchanged");
    case 10:
      if (Array.isArray(old) && old.length < 1000) {
        old.push(...old.map((v: Json) => structuredClone(v)));
        return `${String(key)}: doubled`;
      }
      return set(pick([0, 4294967294, 4294967295]), "an id");
    default: {
      // Move a value to another field of the same object: right types in the wrong place.
      const keys = Array.isArray(holder) ? [] : Object.keys(holder);
      const other = keys.length ? holder[pick(keys)] : old;
      return set(structuredClone(other === undefined ? null : other), "a sibling's value");
    }
  }
}

/** A HuskError with a one-line message (no line breaks, no other control characters). */
function expectCleanError(e: unknown, context: () => string): void {
  if (!(e instanceof HuskError)) {
    throw new Error(`${context()}\nthrew ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(e.message)) {
    throw new Error(`${context()}\nmessage is not one line: ${JSON.stringify(e.message)}`);
  }
}

describe("spec validator fuzz", () => {
  test(`${CASES} mutated configs: OK or a one-line HuskError, nothing else`, () => {
    const rand = prng(SEED);
    const bases = seeds();
    let accepted = 0;
    for (let n = 0; n < CASES; n++) {
      const doc = structuredClone(bases[n % bases.length]);
      const steps: string[] = [];
      const count = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < count; i++) {
        const slot = randomSlot(rand, doc);
        if (slot) steps.push(mutate(rand, slot[0], slot[1]));
      }
      const context = () => `case ${n} (seed ${SEED}): ${steps.join("; ")}`;
      // As a library caller hands it over…
      try {
        const { warnings } = validateSpec(structuredClone(doc));
        accepted++;
        for (const w of warnings) expectCleanError(new HuskError(w.message, { origin: w.path }), context);
      } catch (e) {
        expectCleanError(e, context);
      }
      // …and as config.json text, through the reader.
      let text: string | undefined;
      try {
        text = JSON.stringify(doc);
      } catch {
        // structures JSON cannot hold (none expected, but the fuzzer should not care)
      }
      if (text !== undefined) {
        try {
          validateSpec(parseJson(text, 'parse "config.json"'));
        } catch (e) {
          expectCleanError(e, context);
        }
      }
      // exec --process reads the process object alone.
      try {
        parseProcess(structuredClone(doc?.process));
      } catch (e) {
        expectCleanError(e, context);
      }
    }
    // The mutations should not be so wild that nothing is ever valid.
    expect(accepted).toBeGreaterThan(CASES / 20);
    // About 4 s on this machine; the limit leaves room for slower ones.
  }, 60_000);
});
