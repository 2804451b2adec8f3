/**
 * docker's command line rules (pflag): `--name value`, `--name=value`, `-n value`, short booleans
 * combined (`-it`, `-dit`), repeatable flags collect lists, and for verbs that run a command
 * (`run IMAGE CMD…`, `exec ID CMD…`) parsing stops at the first positional so the command keeps
 * its own flags. Unknown flags are errors (docker's wording: "unknown flag: --x").
 */
import { HuskError, quote } from "../../errors.ts";

export type FlagType = "bool" | "string" | "int" | "list";

export interface Flag {
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  /** Other long names (docker's --net for --network). */
  aliases?: string[];
}

export type Values = Record<string, string | boolean | number | string[] | undefined>;

export interface Parsed {
  flags: Values;
  positionals: string[];
}

function set(flag: Flag, raw: string, flags: Values): void {
  switch (flag.type) {
    case "bool":
      if (raw !== "true" && raw !== "false") throw new HuskError(`invalid argument ${quote(raw)} for "--${flag.name}" flag`);
      flags[flag.name] = raw === "true";
      return;
    case "int":
      if (!/^-?\d+$/.test(raw)) throw new HuskError(`invalid argument ${quote(raw)} for "--${flag.name}" flag: not a number`);
      flags[flag.name] = Number(raw);
      return;
    case "list":
      flags[flag.name] = [...((flags[flag.name] as string[] | undefined) ?? []), raw];
      return;
    default:
      flags[flag.name] = raw;
  }
}

export function parse(argv: string[], specs: Flag[], stopAtPositional: boolean): Parsed {
  const long = new Map<string, Flag>();
  const short = new Map<string, Flag>();
  for (const s of specs) {
    long.set(s.name, s);
    for (const a of s.aliases ?? []) long.set(a, s);
    if (s.short) short.set(s.short, s);
  }
  const flags: Values = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const flag = long.get(name);
      if (!flag) throw new HuskError(`unknown flag: --${name}`);
      if (eq >= 0) set(flag, arg.slice(eq + 1), flags);
      else if (flag.type === "bool") flags[flag.name] = true;
      else {
        const v = argv[++i];
        if (v === undefined) throw new HuskError(`flag needs an argument: --${name}`);
        set(flag, v, flags);
      }
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      // -abc: booleans a, b, then c (which may take the rest of the word, or the next one, as value).
      for (let k = 1; k < arg.length; k++) {
        const c = arg[k]!;
        const flag = short.get(c);
        if (!flag) throw new HuskError(`unknown shorthand flag: '${c}' in ${arg}`);
        if (flag.type === "bool") {
          // -p=false, as Go's pflag takes it.
          if (arg[k + 1] === "=") {
            set(flag, arg.slice(k + 2), flags);
            break;
          }
          flags[flag.name] = true;
          continue;
        }
        let v = arg.slice(k + 1).replace(/^=/, "");
        if (v === "") {
          const next = argv[++i];
          if (next === undefined) throw new HuskError(`flag needs an argument: '${c}' in -${c}`);
          v = next;
        }
        set(flag, v, flags);
        break;
      }
      continue;
    }
    if (stopAtPositional) {
      positionals.push(...argv.slice(i));
      break;
    }
    positionals.push(arg);
  }
  return { flags, positionals };
}

export function usageOf(specs: Flag[]): string {
  return specs
    .map((s) => {
      const names = `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.type === "bool" ? "" : s.type === "list" ? " list" : " value"}`;
      return `  ${names.padEnd(28)} ${s.help}`;
    })
    .join("\n");
}
