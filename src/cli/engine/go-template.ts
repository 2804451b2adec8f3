/**
 * The part of Go's text/template that docker's --format strings use, over JSON-shaped data:
 *
 *   {{.State.Pid}}  {{.Config.Labels.team}}  {{json .Mounts}}  {{index .Labels "a.b"}}
 *   {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}  {{if .State.Running}}up{{else}}down{{end}}
 *   {{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}  {{$n := .Name}}{{$n}}  {{$.Id}}
 *   {{with .State}}{{.Pid}}{{end}}  {{.Name | upper}}  {{printf "%-12.12s %5d" .Id .State.Pid}}
 *   {{.}}  {{- trim markers -}}  "strings", numbers, true/false as arguments; (parenthesised) pipelines
 *
 * Functions: Go's (and, or, not, eq, ne, lt, le, gt, ge, len, index, print, printf, println,
 * slice) and docker's (json, join, split, lower, upper, title, truncate, pad). A field that is
 * not there prints "<no value>", as Go's does. What else Go's templates can do (define,
 * template, block, break, continue, else if, methods) is an error naming it, not a silent
 * empty output.
 */
import { HuskError } from "../../errors.ts";

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipe }
  | { kind: "range"; pipe: Pipe; key?: string; value?: string; body: Node[]; otherwise: Node[] }
  | { kind: "if"; pipe: Pipe; body: Node[]; otherwise: Node[] }
  | { kind: "with"; pipe: Pipe; body: Node[]; otherwise: Node[] };

/** A pipeline: its stages, each but the first given the one before's value as its last argument; maybe a variable set. */
type Pipe = { stages: Expr[]; declare?: string; assign?: string };

type Expr =
  | { kind: "field"; variable?: string; path: string[] }
  | { kind: "literal"; value: unknown }
  | { kind: "call"; fn: string; args: Expr[] }
  | { kind: "pipe"; pipe: Pipe };

const bad = (template: string, why: string) =>
  new HuskError(`template ${JSON.stringify(template)}: ${why}`, { origin: "--format" });

/** Split into text and actions ({{ … }}), applying {{- and -}} trims. */
function lex(template: string): { text: string; action?: string }[] {
  const out: { text: string; action?: string }[] = [];
  let at = 0;
  let trimNext = false;
  while (at <= template.length) {
    const open = template.indexOf("{{", at);
    let text = template.slice(at, open < 0 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open < 0) {
      out.push({ text });
      break;
    }
    const close = template.indexOf("}}", open + 2);
    if (close < 0) throw bad(template, "an action is not closed with }}");
    let inner = template.slice(open + 2, close);
    if (inner.startsWith("-") && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, "");
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    out.push({ text, action: inner.trim() });
    at = close + 2;
  }
  return out;
}

/** Tokens of an action: strings, parenthesised groups, |, :=, =, "," and bare words. */
function words(src: string, template: string): string[] {
  const out: string[] = [];
  const re =
    /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\((?:[^()"]|"(?:[^"\\]|\\.)*"|\((?:[^()"]|"(?:[^"\\]|\\.)*")*\))*\)|:=|[|,=]|[^\s()|,=:]+)/gy;
  let end = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    out.push(m[1]!);
    end = re.lastIndex;
  }
  if (src.slice(end).trim() !== "") throw bad(template, `cannot read ${JSON.stringify(src.slice(end).trim())}`);
  return out;
}

const FUNCS = new Set([
  "and",
  "or",
  "not",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "len",
  "index",
  "slice",
  "print",
  "printf",
  "println",
  "json",
  "join",
  "split",
  "lower",
  "upper",
  "title",
  "truncate",
  "pad",
]);

const VARIABLE = /^\$[A-Za-z0-9_]*$/;

/** A pipeline's source: `$x := …`, `$x = …`, then stages split at |. */
function pipeline(src: string, template: string): Pipe {
  const ws = words(src, template);
  let declare: string | undefined;
  let assign: string | undefined;
  if (ws.length >= 2 && VARIABLE.test(ws[0]!) && (ws[1] === ":=" || ws[1] === "=")) {
    if (ws[1] === ":=") declare = ws[0];
    else assign = ws[0];
    ws.splice(0, 2);
  }
  const stages: Expr[] = [];
  let current: string[] = [];
  for (const w of [...ws, "|"]) {
    if (w !== "|") {
      current.push(w);
      continue;
    }
    if (current.length === 0) throw bad(template, "an empty command in a pipeline");
    stages.push(command(current, template, stages.length > 0));
    current = [];
  }
  return { stages, declare, assign };
}

function command(ws: string[], template: string, piped: boolean): Expr {
  const [head, ...rest] = ws as [string, ...string[]];
  if (FUNCS.has(head)) return { kind: "call", fn: head, args: rest.map((w) => operand(w, template)) };
  // A piped value is a function's last argument: a stage after | must be a function.
  if (piped || rest.length > 0) throw bad(template, `${JSON.stringify(head)} is not a function husk knows`);
  return operand(head, template);
}

function operand(w: string, template: string): Expr {
  if (w.startsWith("(")) return { kind: "pipe", pipe: pipeline(w.slice(1, -1), template) };
  if (w.startsWith('"')) return { kind: "literal", value: JSON.parse(w) };
  if (w.startsWith("`")) return { kind: "literal", value: w.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(w)) return { kind: "literal", value: Number(w) };
  if (w === "true" || w === "false") return { kind: "literal", value: w === "true" };
  if (w === "nil") return { kind: "literal", value: null };
  if (w === ".") return { kind: "field", path: [] };
  if (/^(\.[A-Za-z0-9_]+)+$/.test(w)) return { kind: "field", path: w.slice(1).split(".") };
  const v = /^(\$[A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)$/.exec(w);
  if (v) return { kind: "field", variable: v[1], path: v[2] ? v[2].slice(1).split(".") : [] };
  if (FUNCS.has(w)) return { kind: "call", fn: w, args: [] };
  throw bad(
    template,
    `${JSON.stringify(w)} is not something husk's templates know (fields, variables, "strings", numbers, functions)`,
  );
}

/** `range $k, $v := pipeline`, `range $v := pipeline` or `range pipeline`. */
function rangeHead(src: string, template: string): { pipe: Pipe; key?: string; value?: string } {
  const m = /^(\$[A-Za-z0-9_]*)\s*(?:,\s*(\$[A-Za-z0-9_]*)\s*)?:=\s*(.*)$/s.exec(src);
  if (!m) return { pipe: pipeline(src, template) };
  const pipe = pipeline(m[3]!, template);
  return m[2] === undefined ? { pipe, value: m[1] } : { pipe, key: m[1], value: m[2] };
}

/** Parse the token list into a tree, up to an {{end}} (or {{else}}) when nested. */
function parse(tokens: { text: string; action?: string }[], template: string): Node[] {
  let i = 0;
  const block = (nested: boolean): { nodes: Node[]; stop?: "end" | "else" } => {
    const nodes: Node[] = [];
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.text) nodes.push({ kind: "text", text: t.text });
      if (t.action === undefined) continue;
      const a = t.action;
      if (a === "end" || a === "else") {
        if (!nested) throw bad(template, `{{${a}}} without a range, an if or a with`);
        return { nodes, stop: a };
      }
      if (/^else\s/.test(a)) throw bad(template, `{{${a}}}: husk's templates have no else if; nest an if in the else`);
      const m = /^(range|if|with)\s+(.*)$/s.exec(a);
      if (m) {
        const kind = m[1] as "range" | "if" | "with";
        const head = kind === "range" ? rangeHead(m[2]!, template) : { pipe: pipeline(m[2]!, template) };
        i++;
        const body = block(true);
        let otherwise: Node[] = [];
        if (body.stop === "else") {
          i++;
          const rest = block(true);
          if (rest.stop !== "end") throw bad(template, `{{${kind}}} is not closed with {{end}}`);
          otherwise = rest.nodes;
        } else if (body.stop !== "end") throw bad(template, `{{${kind}}} is not closed with {{end}}`);
        nodes.push({ kind, ...head, body: body.nodes, otherwise } as Node);
        continue;
      }
      if (/^(define|template|block|break|continue)\b/.test(a))
        throw bad(
          template,
          `{{${a}}}: husk's templates have fields, variables, pipelines, range, if, with and functions, not this`,
        );
      if (/^\/\*/.test(a)) continue; // a comment
      nodes.push({ kind: "action", pipe: pipeline(a, template) });
    }
    return { nodes };
  };
  const top = block(false);
  return top.nodes;
}

const NO_VALUE = Symbol("no value");

function lookup(data: unknown, path: string[]): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (v === null || typeof v !== "object" || !(k in (v as object))) return NO_VALUE;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

/** A value as Go's templates print it: maps as map[k:v], lists as [a b]. */
function show(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(show).join(" ")}]`;
  if (typeof v === "object")
    return `map[${Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${show((v as Record<string, unknown>)[k])}`)
      .join(" ")}]`;
  return String(v);
}

/** Go's fmt.Sprintf for the verbs templates use: %s %v %q %d %x %f %t %%, with flags - 0, width and precision. */
export function sprintf(format: string, args: unknown[]): string {
  let next = 0;
  const out = format.replace(
    /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
    (_, flags: string, width?: string, prec?: string, verb?: string) => {
      if (verb === "%") return "%";
      if (next >= args.length) return `%!${verb}(MISSING)`;
      const a = args[next++];
      const num = typeof a === "number";
      let s: string;
      switch (verb) {
        case "s":
        case "v":
          s = show(a);
          if (prec !== undefined && (verb === "s" || typeof a === "string")) s = s.slice(0, Number(prec));
          break;
        case "q":
          s = JSON.stringify(show(a));
          break;
        case "d":
          s = num && Number.isInteger(a) ? String(a) : `%!d(${typeof a}=${show(a)})`;
          break;
        case "x":
          s = num ? Math.trunc(a).toString(16) : Buffer.from(show(a)).toString("hex");
          break;
        case "f":
          s = num ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeof a}=${show(a)})`;
          break;
        case "t":
          s = typeof a === "boolean" ? String(a) : `%!t(${typeof a}=${show(a)})`;
          break;
        default:
          s = `%!${verb}(${show(a)})`;
      }
      const w = width === undefined ? 0 : Number(width);
      if (s.length < w) s = flags.includes("-") ? s.padEnd(w) : flags.includes("0") && num ? s.padStart(w, "0") : s.padStart(w);
      return s;
    },
  );
  return next < args.length ? `${out}%!(EXTRA ${args.slice(next).map(show).join(", ")})` : out;
}

/** Variables of a template run: `$` and those its actions declare, visible to the end of their block. */
class Scope {
  private readonly vars = new Map<string, unknown>();
  constructor(private readonly parent?: Scope) {}
  get(name: string, template: string): unknown {
    if (this.vars.has(name)) return this.vars.get(name);
    if (this.parent) return this.parent.get(name, template);
    throw bad(template, `undefined variable ${name}`);
  }
  declare(name: string, value: unknown): void {
    this.vars.set(name, value);
  }
  assign(name: string, value: unknown, template: string): void {
    if (this.vars.has(name)) this.vars.set(name, value);
    else if (this.parent) this.parent.assign(name, value, template);
    else throw bad(template, `undefined variable ${name}`);
  }
}

/** Ordered comparison of two numbers or two strings (Go refuses the rest). */
function compare(a: unknown, b: unknown, fn: string, template: string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  throw bad(template, `${fn}: cannot compare ${show(a)} and ${show(b)}`);
}

function call(fn: string, args: unknown[], template: string): unknown {
  const need = (n: number) => {
    if (args.length !== n) throw bad(template, `${fn} takes ${n} argument${n === 1 ? "" : "s"}`);
  };
  switch (fn) {
    case "and":
      return args.find((a) => !truthy(a)) ?? args[args.length - 1];
    case "or":
      return args.find((a) => truthy(a)) ?? args[args.length - 1];
    case "not":
      need(1);
      return !truthy(args[0]);
    case "eq":
    case "ne": {
      need(2);
      const same = show(args[0]) === show(args[1]);
      return fn === "eq" ? same : !same;
    }
    case "lt":
      need(2);
      return compare(args[0], args[1], fn, template) < 0;
    case "le":
      need(2);
      return compare(args[0], args[1], fn, template) <= 0;
    case "gt":
      need(2);
      return compare(args[0], args[1], fn, template) > 0;
    case "ge":
      need(2);
      return compare(args[0], args[1], fn, template) >= 0;
    case "json":
      need(1);
      return JSON.stringify(args[0] === NO_VALUE ? null : args[0]);
    case "index": {
      let v = args[0];
      for (const k of args.slice(1)) v = lookup(v, [String(k)]);
      return v;
    }
    case "slice": {
      const [v, from, to] = args as [unknown, number | undefined, number | undefined];
      if (typeof v !== "string" && !Array.isArray(v)) throw bad(template, `slice: cannot slice ${show(v)}`);
      return v.slice(from ?? 0, to);
    }
    case "len": {
      need(1);
      const v = args[0];
      return Array.isArray(v) || typeof v === "string" ? v.length : v && typeof v === "object" ? Object.keys(v).length : 0;
    }
    case "join":
      need(2);
      return Array.isArray(args[0]) ? args[0].map(show).join(String(args[1])) : show(args[0]);
    case "split":
      need(2);
      return show(args[0]).split(String(args[1]));
    case "lower":
      need(1);
      return show(args[0]).toLowerCase();
    case "upper":
      need(1);
      return show(args[0]).toUpperCase();
    case "title":
      need(1);
      return show(args[0]).replace(/\b\w/g, (c) => c.toUpperCase());
    case "truncate":
      need(2);
      return show(args[0]).slice(0, Number(args[1]));
    case "pad":
      need(3);
      return show(args[0]) === "" ? "" : `${" ".repeat(Number(args[1]))}${show(args[0])}${" ".repeat(Number(args[2]))}`;
    case "print":
      return args.map(show).join("");
    case "printf":
      if (typeof args[0] !== "string") throw bad(template, "printf takes a format string first");
      return sprintf(args[0], args.slice(1));
    case "println":
      return `${args.map(show).join(" ")}\n`;
  }
  throw bad(template, `unknown function ${fn}`);
}

function evaluate(e: Expr, dot: unknown, scope: Scope, template: string, piped?: { value: unknown }): unknown {
  if (e.kind === "literal") return e.value;
  if (e.kind === "field") return lookup(e.variable === undefined ? dot : scope.get(e.variable, template), e.path);
  if (e.kind === "pipe") return run(e.pipe, dot, scope, template);
  const args = e.args.map((a) => evaluate(a, dot, scope, template));
  if (piped) args.push(piped.value);
  return call(e.fn, args, template);
}

/** A pipeline's value (a declaration or assignment prints nothing: its value is undefined then). */
function run(p: Pipe, dot: unknown, scope: Scope, template: string): unknown {
  let value: unknown;
  p.stages.forEach((stage, i) => {
    value = evaluate(stage, dot, scope, template, i > 0 ? { value } : undefined);
  });
  if (p.declare) scope.declare(p.declare, value);
  else if (p.assign) scope.assign(p.assign, value, template);
  return value;
}

function render(nodes: Node[], dot: unknown, parent: Scope, template: string): string {
  const scope = new Scope(parent);
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "action") {
      const v = run(n.pipe, dot, scope, template);
      if (!n.pipe.declare && !n.pipe.assign) out += typeof v === "string" ? v : show(v);
    } else if (n.kind === "if") {
      out += render(truthy(run(n.pipe, dot, scope, template)) ? n.body : n.otherwise, dot, scope, template);
    } else if (n.kind === "with") {
      const v = run(n.pipe, dot, scope, template);
      out += truthy(v) ? render(n.body, v, scope, template) : render(n.otherwise, dot, scope, template);
    } else {
      const v = run(n.pipe, dot, scope, template);
      const entries: [unknown, unknown][] = Array.isArray(v)
        ? v.map((item, k) => [k, item])
        : v && typeof v === "object"
          ? Object.keys(v as object)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]])
          : [];
      if (entries.length === 0) {
        out += render(n.otherwise, dot, scope, template);
        continue;
      }
      for (const [k, item] of entries) {
        const each = new Scope(scope);
        if (n.key) each.declare(n.key, k);
        if (n.value) each.declare(n.value, item);
        out += render(n.body, item, each, template);
      }
    }
  }
  return out;
}

/** A --format string, checked once, applied to each object. */
export function compileTemplate(template: string): (data: unknown) => string {
  const tree = parse(lex(template), template);
  return (data) => {
    const root = new Scope();
    root.declare("$", data);
    return render(tree, data, root, template);
  };
}

/**
 * --format's value: "json" (one JSON object per item), a Go template, or absent (the verb's
 * table). As docker's: "\t" and "\n" written out in the string are a tab and a newline, and a
 * "table " prefix asks for a header line and aligned columns (`table` alone: the verb's table).
 */
export function formatOf(format: unknown): { json: true } | { template: (data: unknown) => string; table: boolean } | undefined {
  if (format === undefined) return undefined;
  if (typeof format !== "string") throw new HuskError("must be a string", { origin: "--format" });
  if (format === "json" || format === "{{json .}}") return { json: true };
  const text = format.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  if (text.trim() === "table") return undefined;
  const table = /^table\s/.test(text);
  return { template: compileTemplate(table ? text.replace(/^table\s+/, "") : text), table };
}
