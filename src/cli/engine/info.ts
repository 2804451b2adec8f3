/** `husk info [--format json]` and `husk version [--format json]`: docker's summaries of the engine and of husk itself. */
import type { EngineInfo, VersionReport } from "../../engine/index.ts";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import type { Flag } from "./args.ts";
import { type EngineVerb, engineOf } from "./verb.ts";

const FORMAT: Flag = { name: "format", short: "f", type: "string", help: '"json" for one JSON object' };

/** --format: absent (text) or "json". */
function wantsJson(format: unknown): boolean {
  if (format === undefined) return false;
  if (format !== "json") throw new HuskError(`--format: only "json" is supported, not ${JSON.stringify(format)}`);
  return true;
}

const lines = (rows: [string, string | number][]) => rows.map(([k, v]) => ` ${`${k}:`.padEnd(18)}${v}\n`).join("");

function versionText(v: VersionReport): string {
  return `husk:\n${lines([
    ["Version", v.version],
    ["Helper commit", v.helper],
    ["OCI runtime-spec", v.spec],
    ["JS runtime", v.jsRuntime],
    ["OS/Arch", v.osArch],
  ])}`;
}

function infoText(i: EngineInfo): string {
  const gib = (i.memoryBytes / 1024 ** 3).toFixed(2);
  return `${lines([
    ["Containers", i.containers.total],
    ["  Running", i.containers.running],
    ["  Paused", i.containers.paused],
    ["  Stopped", i.containers.stopped],
    ["Images", i.images],
    ["Volumes", i.volumes],
    ["Networks", i.networks.join(" ") || "(none)"],
    ["Storage Driver", i.storageDriver],
    ["Data Root", i.dataRoot],
    ["State Root", i.stateRoot],
    ["Cgroups", i.cgroups],
    ["nftables Table", `inet ${i.nftTable}`],
    ["Kernel Version", i.kernel],
    ["CPUs", i.cpus],
    ["Total Memory", `${gib}GiB`],
    ["husk Version", i.version],
    ["Helper Commit", i.helper],
    ["JS Runtime", i.jsRuntime],
    ["OS/Arch", i.osArch],
  ])}`;
}

export const info: EngineVerb = {
  name: "info",
  usage: "[--format json]",
  summary: "what the engine holds and runs on",
  flags: [FORMAT],
  async run(p, g) {
    if (p.positionals.length > 0) throw new HuskError('"husk info" accepts no arguments');
    const json = wantsJson(p.flags.format);
    const i = await (await engineOf(g)).info();
    stdout(json ? `${JSON.stringify(i)}\n` : infoText(i));
    return 0;
  },
};

export const version: EngineVerb = {
  name: "version",
  usage: "[--format json]",
  summary: "husk's version, its helper's commit and the JS runtime",
  flags: [FORMAT],
  async run(p, g) {
    if (p.positionals.length > 0) throw new HuskError('"husk version" accepts no arguments');
    const json = wantsJson(p.flags.format);
    const v = await (await engineOf(g)).version();
    stdout(json ? `${JSON.stringify(v)}\n` : versionText(v));
    return 0;
  },
};
export default info;
