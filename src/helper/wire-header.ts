/**
 * Generates native/wire.h from wire.ts: `bun src/helper/wire-header.ts` (npm run gen-wire)
 * writes it; test/unit/wire.test.ts fails while the committed header differs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloneMode, MSG_SIZE, Msg, PLAN_MAGIC, PLAN_MAX, PLAN_VERSION, Where, WIRE, WireKind } from "./wire.ts";

/** The C function that runs an op: setns → op_setns, mkdirAll → op_mkdir_all. */
export function cFunction(op: string): string {
  return `op_${op.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
}

function enumLines(prefix: string, values: Record<string, string | number>): string {
  const names = Object.keys(values).filter((k) => Number.isNaN(Number(k)));
  const snake = (n: string) => n.replace(/(?<=[a-z])([A-Z])/g, "_$1").toUpperCase();
  return `enum { ${names.map((n) => `${prefix}${snake(n)} = ${values[n]}`).join(", ")} };`;
}

export function wireHeader(): string {
  const ops = Object.entries(WIRE)
    .sort(([, a], [, b]) => a.code - b.code)
    .map(([name, def]) => `\tX(${def.code}, ${name}, "${Object.values(def.fields).join("")}", ${cFunction(name)})`);
  return [
    "/*",
    " * Generated from src/helper/wire.ts by `npm run gen-wire`: edit that file, not this one.",
    " * X(code, name, field kinds, function): one line per plan op (kinds: i int, s string,",
    " * b bytes, l NUL-terminated string list, u u32 array).",
    " */",
    "#ifndef HUSK_WIRE_H",
    "#define HUSK_WIRE_H",
    "",
    "#define HUSK_OPS(X) \\",
    `${ops.join(" \\\n")}`,
    "",
    `#define PLAN_MAGIC "${PLAN_MAGIC}"`,
    `#define PLAN_VERSION ${PLAN_VERSION}`,
    `#define PLAN_MAX ${PLAN_MAX}u`,
    `enum { MSG_SIZE = ${MSG_SIZE} };`,
    enumLines("MSG_", Msg),
    enumLines("KIND_", WireKind),
    enumLines("WHERE_", Where),
    enumLines("CLONE_", CloneMode),
    "",
    "#endif",
    "",
  ].join("\n");
}

export const WIRE_HEADER_PATH = join(import.meta.dirname, "../../native/wire.h");

if (import.meta.main) writeFileSync(WIRE_HEADER_PATH, wireHeader());
