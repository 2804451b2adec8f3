import { describe, expect, test } from "bun:test";
import { formatRows } from "../../src/cli/engine/format.ts";
import { compileTemplate, formatOf } from "../../src/cli/engine/go-template.ts";

const data = {
  Id: "abc",
  Name: "/web",
  State: { Pid: 42, Running: true, Status: "running" },
  Config: { Labels: { team: "a", "com.example.x": "y" }, Env: ["A=1", "B=2"] },
  NetworkSettings: { Networks: { front: { IPAddress: "10.0.0.2" }, back: { IPAddress: "10.1.0.2" } } },
  Mounts: [],
};
const t = (tpl: string, d: unknown = data) => compileTemplate(tpl)(d);

describe("--format templates (Go's text/template, docker's subset)", () => {
  test("fields, nested fields, map keys, the dot, missing fields", () => {
    expect(t("{{.State.Pid}} {{.Name}}")).toBe("42 /web");
    expect(t("{{.Config.Labels.team}}")).toBe("a");
    expect(t("{{.Nope}}|{{.State.Nope}}")).toBe("<no value>|<no value>");
    expect(t("{{.}}", "plain")).toBe("plain");
    expect(t("{{.Config.Env}}")).toBe("[A=1 B=2]");
  });

  test("functions: json, index, len, join, lower, upper, println, eq/not", () => {
    expect(t("{{json .State}}")).toBe('{"Pid":42,"Running":true,"Status":"running"}');
    expect(t('{{index .Config.Labels "com.example.x"}}')).toBe("y");
    expect(t("{{len .Config.Env}} {{len .Mounts}}")).toBe("2 0");
    expect(t('{{join .Config.Env ","}}')).toBe("A=1,B=2");
    expect(t("{{upper .State.Status}} {{lower (upper .Name)}}")).toBe("RUNNING /web");
    expect(t("{{println .Id}}")).toBe("abc\n");
    expect(t('{{if eq .State.Status "running"}}up{{end}}{{if not .State.Running}}down{{end}}')).toBe("up");
  });

  test("range over lists and maps (keys in order), if/else, trim markers", () => {
    expect(t("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}")).toBe("10.1.0.2 10.0.0.2 ");
    expect(t("{{range .Config.Env}}[{{.}}]{{end}}")).toBe("[A=1][B=2]");
    expect(t("{{range .Mounts}}x{{else}}none{{end}}")).toBe("none");
    expect(t("{{if .State.Running}}yes{{else}}no{{end}}")).toBe("yes");
    expect(t("a  {{- .Id -}}  b")).toBe("aabcb");
  });

  test("variables: $, := and = with block scope, range's $k, $v", () => {
    expect(t("{{$n := .Name}}{{$n}} {{$.Id}}")).toBe("/web abc");
    expect(t("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}")).toBe("com.example.x=y;team=a;");
    expect(t("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}")).toBe("0:A=1 1:B=2 ");
    expect(t("{{range $e := .Config.Env}}{{$e}}{{$.Id}} {{end}}")).toBe("A=1abc B=2abc ");
    expect(t("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}")).toBe("2");
    expect(t("{{$s := .State}}{{$s.Pid}}")).toBe("42");
    expect(() => t("{{$nope}}")).toThrow("undefined variable $nope");
    expect(() => t("{{if true}}{{$y := 1}}{{end}}{{$y}}")).toThrow("undefined variable $y");
  });

  test("pipelines, with, printf and docker's functions", () => {
    expect(t("{{.Name | upper}}")).toBe("/WEB");
    expect(t('{{join .Config.Env "," | lower}}')).toBe("a=1,b=2"); // the value piped in is the last argument
    expect(t('{{"%s-%s" | printf "%s/%s" .Id}}')).toBe("abc/%s-%s");
    expect(t("{{.State | json}}")).toBe('{"Pid":42,"Running":true,"Status":"running"}');
    expect(
      t('{{printf "%-6s|%5d|%05d|%.2s|%q|%v|%t|%%" .Id .State.Pid .State.Pid .Name .Id .State.Running .State.Running}}'),
    ).toBe('abc   |   42|00042|/w|"abc"|true|true|%');
    expect(t('{{printf "%s" }}')).toBe("%!s(MISSING)");
    expect(t("{{with .State}}{{.Status}}{{end}}{{with .Nope}}x{{else}}none{{end}}")).toBe("runningnone");
    expect(t('{{split "a:b:c" ":"}} {{truncate .Id 2}} {{pad .Id 1 2}}| {{title "web one"}}')).toBe("[a b c] ab  abc  | Web One");
    expect(t('{{if and .State.Running (gt .State.Pid 10)}}big{{end}} {{or .Nope "dflt"}} {{lt 1 2}} {{ge "b" "a"}}')).toBe(
      "big dflt true true",
    );
    expect(t("{{slice .Id 1}} {{slice .Id 0 2}} {{len (slice .Config.Env 1)}}")).toBe("bc ab 1");
    expect(t("{{/* a comment */}}x")).toBe("x");
  });

  test("what is not supported is an error naming it", () => {
    expect(() => t("{{.Id")).toThrow("not closed");
    expect(() => t('{{define "x"}}')).toThrow("not this");
    expect(() => t('{{template "x"}}')).toThrow("not this");
    expect(() => t("{{.Id | nope}}")).toThrow("not a function");
    expect(() => t("{{range .Mounts}}")).toThrow("{{end}}");
    expect(() => t("{{end}}")).toThrow("without a range");
    expect(() => t("{{if .Id}}a{{else if .Name}}b{{end}}")).toThrow("no else if");
    expect(() => t("{{frobnicate .Id}}")).toThrow("not a function");
    expect(() => t("{{lt .Id 3}}")).toThrow("cannot compare");
  });

  test("formatOf: json, a template, or the table", () => {
    expect(formatOf(undefined)).toBeUndefined();
    expect(formatOf("json")).toEqual({ json: true });
    const f = formatOf("table {{.Id}}");
    expect(f && "template" in f && f.template(data)).toBe("abc");
    expect(f && "table" in f && f.table).toBe(true);
    expect(formatOf("table")).toBeUndefined(); // the verb's own table, as docker's
    const escaped = formatOf("{{.Id}}\\t{{.Name}}\\n");
    expect(escaped && "template" in escaped && escaped.template(data)).toBe("abc\t/web\n");
  });

  test("table: a header line from the titles (else the field in capitals), cells aligned as docker's", () => {
    const rows = [
      { ID: "0123456789ab", Names: "web", RunningFor: "2 minutes ago" },
      { ID: "ba9876543210", Names: "a-much-longer-name", RunningFor: "1 second ago" },
    ];
    const text = formatRows("table {{.ID}}\\t{{.Names}}\\t{{.RunningFor}}", rows, { ID: "CONTAINER ID" });
    expect(text).toBe(
      [
        "CONTAINER ID   NAMES                RUNNING FOR",
        "0123456789ab   web                  2 minutes ago",
        "ba9876543210   a-much-longer-name   1 second ago",
        "",
      ].join("\n"),
    );
    // No rows: the header alone. A nested field has no title of its own.
    expect(formatRows("table {{.Name}}\t{{.State.Status}}", [])).toBe("NAME   <no value>\n");
    expect(formatRows("{{.Names}}", rows)).toBe("web\na-much-longer-name\n");
    expect(formatRows("json", rows.slice(0, 1))).toBe(`${JSON.stringify(rows[0])}\n`);
    expect(formatRows(undefined, rows)).toBeUndefined();
  });
});
