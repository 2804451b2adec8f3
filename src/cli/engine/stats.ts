import type { ContainerStats } from "../../engine/stats.ts";
import { stdout } from "../../sys/stdio.ts";
import { formatRows } from "./format.ts";
import { formatOf } from "./go-template.ts";
import { type EngineVerb, engineOf, table } from "./verb.ts";

/** Go's %.Ng without exponent: at most n significant digits, no trailing zeros. */
const sig = (x: number, n: number) => String(Number(x.toPrecision(n)));

/** docker's units.HumanSize (decimal: kB, MB …, 3 significant digits) and BytesSize (binary: KiB, MiB …). */
export function humanSize(bytes: number, binary = false): string {
  const base = binary ? 1024 : 1000;
  const units = binary ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] : ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${sig(v, binary ? 4 : 3)}${units[i]}`;
}

const pct = (x: number) => `${x.toFixed(2)}%`;

function row(s: ContainerStats) {
  const running = s.running;
  return {
    ID: s.id.slice(0, 12),
    Name: s.name,
    Container: s.name,
    CPUPerc: pct(s.cpuPercent),
    MemUsage: running ? `${humanSize(s.memoryUsage, true)} / ${humanSize(s.memoryLimit, true)}` : "0B / 0B",
    MemPerc: pct(s.memoryPercent),
    NetIO: `${humanSize(s.netRxBytes)} / ${humanSize(s.netTxBytes)}`,
    BlockIO: `${humanSize(s.blockReadBytes)} / ${humanSize(s.blockWriteBytes)}`,
    PIDs: String(s.pids),
  };
}

const HEAD = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

/** docker's stats column titles, for --format "table …". */
const TITLES = {
  ID: "CONTAINER ID",
  Name: "NAME",
  Container: "CONTAINER",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

/** A frame: --format's ("json", a Go template, "table …"), else docker's table. */
export function render(samples: ContainerStats[], format?: string): string {
  const rows = samples.map(row);
  return (
    formatRows(format, rows, TITLES) ??
    table(
      HEAD,
      rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]),
    )
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const verb: EngineVerb = {
  name: "stats",
  usage: "[options] [CONTAINER...]",
  summary: "containers' CPU, memory, network and block I/O use (every second until Ctrl-C; --no-stream: once)",
  flags: [
    { name: "all", short: "a", type: "bool", help: "all containers, not only running ones" },
    { name: "no-stream", type: "bool", help: "print one sample and exit" },
    { name: "no-trunc", type: "bool", help: "(ids are always shortened in the table)" },
    { name: "format", type: "string", help: '"json" (a JSON object per line), a Go template, or "table" and a template' },
  ],
  async run(p, g) {
    const format = p.flags.format as string | undefined;
    formatOf(format); // a bad template fails now, not a second later
    const json = format === "json";
    const engine = await engineOf(g);
    const { Sampler } = await import("../../engine/stats.ts");
    const named = p.positionals;
    // Named containers must exist (docker fails at once); their records are looked up each time.
    for (const ref of named) engine.record(ref);
    const targets = async () => {
      if (named.length > 0) return named.map((r) => engine.record(r));
      const list = await engine.list({ all: p.flags.all === true });
      return list.map((c) => engine.record(c.id));
    };
    const sampler = new Sampler(engine);
    const tty = process.stdout.isTTY === true && !json;
    let recs = await targets();
    for (const r of recs) sampler.sample(r);
    for (;;) {
      // CPU % needs two readings: the first frame comes a second after the first reading, as docker's.
      await sleep(1000);
      try {
        recs = await targets();
      } catch (err) {
        if (named.length > 0) throw err; // a named container was removed
      }
      sampler.keep(recs.map((r) => r.id));
      const text = render(
        recs.map((r) => sampler.sample(r)),
        format,
      );
      stdout(tty ? `\x1b[2J\x1b[H${text}` : text);
      if (p.flags["no-stream"]) return 0;
    }
  },
};
export default verb;
