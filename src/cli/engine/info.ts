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

/** A verb that prints one report of the engine, as text or (--format json) one JSON object. */
function reportVerb<T>(
  name: "info" | "version",
  summary: string,
  get: (engine: Awaited<ReturnType<typeof engineOf>>) => Promise<T>,
  text: (report: T) => string,
): EngineVerb {
  return {
    name,
    usage: "[--format json]",
    summary,
    flags: [FORMAT],
    async run(p, g) {
      if (p.positionals.length > 0) throw new HuskError(`"husk ${name}" accepts no arguments`);
      const json = wantsJson(p.flags.format);
      const report = await get(await engineOf(g));
      stdout(json ? `${JSON.stringify(report)}\n` : text(report));
      return 0;
    },
  };
}

export const info = reportVerb("info", "what the engine holds and runs on", (e) => e.info(), infoText);
export const version = reportVerb(
  "version",
  "husk's version, its helper's commit and the JS runtime",
  (e) => e.version(),
  versionText,
);
export default info;
