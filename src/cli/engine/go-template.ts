/**
 * The part of Go's text/template that docker's --format strings use, over JSON-shaped data:
 *
 *   {{.State.Pid}}  {{.Config.Labels.team}}  {{json .Mounts}}  {{index .Labels "a.b"}}
 *   {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}  {{if .State.Running}}up{{else}}down{{end}}
 *   {{len .Mounts}}  {{join .Args ","}}  {{lower .Name}}  {{upper .Name}}  {{println .Id}}
 *   {{.}}  {{- trim markers -}}  "strings" and numbers as arguments; one level of (parentheses)
 *
 * A field that is not there prints "<no value>", as Go's does. What else Go's templates can do
 * (variables, pipes of several commands, printf verbs, with, template) is an error naming it,
 * not a silent empty output.
 */
import { HuskError } from "../../errors.ts";

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; expr: Expr }
  | { kind: "range"; expr: Expr; body: Node[]; otherwise: Node[] }
  | { kind: "if"; expr: Expr; body: Node[]; otherwise: Node[] };

type Expr = { kind: "field"; path: string[] } | { kind: "literal"; value: unknown } | { kind: "call"; fn: string; args: Expr[] };

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

/** Words of an action: strings, parenthesised groups and bare words. */
function words(src: string, template: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\((?:[^()"]|"(?:[^"\\]|\\.)*")*\)|[^\s()]+)/gy;
  let end = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    out.push(m[1]!);
    end = re.lastIndex;
  }
  if (src.slice(end).trim() !== "") throw bad(template, `cannot read ${JSON.stringify(src.slice(end).trim())}`);
  return out;
}

const FUNCS = new Set(["json", "index", "len", "join", "lower", "upper", "println", "print", "title", "not", "eq", "ne"]);

function expr(src: string, template: string): Expr {
  const ws = words(src, template);
  if (ws.length === 0) throw bad(template, "an empty action");
  const [head, ...rest] = ws as [string, ...string[]];
  if (FUNCS.has(head)) return { kind: "call", fn: head, args: rest.map((w) => operand(w, template)) };
  if (rest.length > 0) throw bad(template, `${JSON.stringify(head)} is not a function husk knows`);
  return operand(head, template);
}

function operand(w: string, template: string): Expr {
  if (w.startsWith("(")) return expr(w.slice(1, -1), template);
  if (w.startsWith('"')) return { kind: "literal", value: JSON.parse(w) };
  if (w.startsWith("`")) return { kind: "literal", value: w.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(w)) return { kind: "literal", value: Number(w) };
  if (w === "true" || w === "false") return { kind: "literal", value: w === "true" };
  if (w === ".") return { kind: "field", path: [] };
  if (/^(\.[A-Za-z0-9_]+)+$/.test(w)) return { kind: "field", path: w.slice(1).split(".") };
  throw bad(template, `${JSON.stringify(w)} is not something husk's templates know (fields, "strings", numbers, functions)`);
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
        if (!nested) throw bad(template, `{{${a}}} without a range or an if`);
        return { nodes, stop: a };
      }
      const m = /^(range|if)\s+(.*)$/.exec(a);
      if (m) {
        i++;
        const body = block(true);
        let otherwise: Node[] = [];
        if (body.stop === "else") {
          i++;
          const rest = block(true);
          if (rest.stop !== "end") throw bad(template, `{{${m[1]}}} is not closed with {{end}}`);
          otherwise = rest.nodes;
        } else if (body.stop !== "end") throw bad(template, `{{${m[1]}}} is not closed with {{end}}`);
        nodes.push({ kind: m[1] as "range" | "if", expr: expr(m[2]!, template), body: body.nodes, otherwise });
        continue;
      }
      if (/^(with|define|template|block)\b|^\$|:=|\|/.test(a))
        throw bad(template, `{{${a}}}: husk's templates have fields, range, if and a few functions, not this`);
      nodes.push({ kind: "action", expr: expr(a, template) });
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

function evaluate(e: Expr, dot: unknown, template: string): unknown {
  if (e.kind === "literal") return e.value;
  if (e.kind === "field") return lookup(dot, e.path);
  const args = e.args.map((a) => evaluate(a, dot, template));
  const need = (n: number) => {
    if (args.length !== n) throw bad(template, `${e.fn} takes ${n} argument${n === 1 ? "" : "s"}`);
  };
  switch (e.fn) {
    case "json":
      need(1);
      return JSON.stringify(args[0] === NO_VALUE ? null : args[0]);
    case "index": {
      let v = args[0];
      for (const k of args.slice(1)) v = lookup(v, [String(k)]);
      return v;
    }
    case "len": {
      need(1);
      const v = args[0];
      return Array.isArray(v) || typeof v === "string" ? v.length : v && typeof v === "object" ? Object.keys(v).length : 0;
    }
    case "join":
      need(2);
      return Array.isArray(args[0]) ? args[0].map(show).join(String(args[1])) : show(args[0]);
    case "lower":
      need(1);
      return show(args[0]).toLowerCase();
    case "upper":
      need(1);
      return show(args[0]).toUpperCase();
    case "title":
      need(1);
      return show(args[0]).replace(/\b\w/g, (c) => c.toUpperCase());
    case "print":
      return args.map(show).join("");
    case "println":
      return `${args.map(show).join(" ")}\n`;
    case "not":
      need(1);
      return !truthy(args[0]);
    case "eq":
    case "ne": {
      need(2);
      const same = show(args[0]) === show(args[1]);
      return e.fn === "eq" ? same : !same;
    }
  }
  throw bad(template, `unknown function ${e.fn}`);
}

function render(nodes: Node[], dot: unknown, template: string): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "action") {
      const v = evaluate(n.expr, dot, template);
      out += typeof v === "string" ? v : show(v);
    } else if (n.kind === "if") out += render(truthy(evaluate(n.expr, dot, template)) ? n.body : n.otherwise, dot, template);
    else {
      const v = evaluate(n.expr, dot, template);
      const items = Array.isArray(v)
        ? v
        : v && typeof v === "object"
          ? Object.keys(v as object)
              .sort()
              .map((k) => (v as Record<string, unknown>)[k])
          : [];
      out += items.length > 0 ? items.map((item) => render(n.body, item, template)).join("") : render(n.otherwise, dot, template);
    }
  }
  return out;
}

/** A --format string, checked once, applied to each object. */
export function compileTemplate(template: string): (data: unknown) => string {
  const tree = parse(lex(template), template);
  return (data) => render(tree, data, template);
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
