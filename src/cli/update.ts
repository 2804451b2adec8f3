import { readFileSync } from "node:fs";
import { fromSystemError, HuskError, quote } from "../errors.ts";
import { parseJson } from "../oci/json.ts";
import type { LinuxResources } from "../runtime/runtime.ts";
import type { FlagValues } from "./args.ts";
import { runtimeOf, type Verb } from "./verb.ts";

/** docker's RAMInBytes: 512, 512k, 64m, 1.5g (binary units); -1 for unlimited. */
export function parseBytes(text: string, flag: string): number {
  if (text === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new HuskError(`invalid value "${text}" for --${flag}: expected a size like 512m`);
  const power = m[2] ? "kmgtp".indexOf((m[2] as string).toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function intFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new HuskError(`invalid value "${v}" for --${name}: not an integer`);
  return Number(v);
}

function fromFlags(flags: FlagValues): LinuxResources {
  const bytes = (name: string) => (flags[name] === undefined ? undefined : parseBytes(flags[name] as string, name));
  const r: LinuxResources = {
    memory: {
      limit: bytes("memory"),
      reservation: bytes("memory-reservation"),
      swap: bytes("memory-swap"),
      kernel: bytes("kernel-memory"),
      kernelTCP: bytes("kernel-memory-tcp"),
    },
    cpu: {
      shares: intFlag(flags, "cpu-share"),
      quota: intFlag(flags, "cpu-quota"),
      period: intFlag(flags, "cpu-period"),
      realtimeRuntime: intFlag(flags, "cpu-rt-runtime"),
      realtimePeriod: intFlag(flags, "cpu-rt-period"),
      cpus: flags["cpuset-cpus"] as string | undefined,
      mems: flags["cpuset-mems"] as string | undefined,
    },
    blockIO: { weight: intFlag(flags, "blkio-weight") },
    pids: flags["pids-limit"] === undefined ? undefined : { limit: intFlag(flags, "pids-limit") as number },
  };
  // Only what was asked for: an empty section would be a no-op, but keep the request minimal.
  for (const key of ["memory", "cpu", "blockIO"] as const) {
    const section = r[key] as Record<string, unknown>;
    if (Object.values(section).every((v) => v === undefined)) delete r[key];
  }
  return r;
}

const STRING_FLAGS = [
  "blkio-weight",
  "cpu-period",
  "cpu-quota",
  "cpu-share",
  "cpu-rt-period",
  "cpu-rt-runtime",
  "cpuset-cpus",
  "cpuset-mems",
  "kernel-memory",
  "kernel-memory-tcp",
  "memory",
  "memory-reservation",
  "memory-swap",
  "pids-limit",
  "l3-cache-schema",
  "mem-bw-schema",
];

const verb: Verb = {
  name: "update",
  interspersed: true,
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "update a container's resource limits",
  flags: [
    { name: "resources", short: "r", type: "string", help: 'path to a file with linux.resources JSON ("-" for stdin)' },
    ...STRING_FLAGS.map((name) => ({ name, type: "string" as const, help: `set ${name}` })),
  ],
  async run({ flags, positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"update" requires exactly 1 argument: the container id');
    if (flags["l3-cache-schema"] || flags["mem-bw-schema"]) throw new HuskError("intel RDT is not supported");
    let resources: LinuxResources;
    if (flags.resources) {
      const path = flags.resources as string;
      let text: string;
      try {
        text = readFileSync(path === "-" ? 0 : path, "utf8");
      } catch (err) {
        throw fromSystemError(err, `read resources from ${quote(path)}`);
      }
      resources = parseJson(text, `parse resources from ${quote(path)}`) as LinuxResources;
    } else {
      resources = fromFlags(flags);
    }
    const id = positionals[0] as string;
    await runtimeOf(globals).update(id, resources);
    return 0;
  },
};
export default verb;
