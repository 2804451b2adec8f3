/**
 * config.json → a checked Spec, or one error naming the JSON path of the first problem:
 *   linux.namespaces[2].type: unknown namespace type "foo"
 *
 * Two passes: the shape checks (schema.ts) go field by field, then the rules
 * (rules.ts) check what relates fields. Warnings (what runc only logs) are returned, never
 * printed here.
 */
import { ConfigError } from "../errors.ts";
import { OCI_VERSION } from "./default-spec.ts";
import { deepFreeze, isDeepFrozen } from "./frozen.ts";
import { MAX_JSON_DEPTH } from "./json.ts";
import { PROCESS_RULES, type RuleContext, SPEC_RULES, type SpecRule, type SpecWarning, type ValidateOptions } from "./rules.ts";
import { checkShape } from "./schema.ts";
import type { LinuxSeccomp, Process, ValidSpec } from "./types.ts";

export {
  PROCESS_RULES,
  type RuleContext,
  SPEC_RULES,
  type SpecRule,
  type SpecWarning,
  type ValidateOptions,
} from "./rules.ts";

/** A config error (errors.ts ConfigError), under the name this module has always used. */
export const SpecError = ConfigError;
export type SpecError = ConfigError;

export interface ValidateResult {
  spec: ValidSpec;
  warnings: SpecWarning[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Shape path → `linux.namespaces[2].type`; odd keys (sysctl names) as ["net.ipv4.ip_forward"]. */
export function formatIssuePath(path: readonly { key: unknown }[] | undefined, base = ""): string {
  let out = base;
  for (const item of path ?? []) {
    const key = item.key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * A copy of the parsed JSON without null members: Go's encoding/json, which wrote most
 * bundles and is what runc reads them with, treats `"field": null` as an absent field.
 * "__proto__" keys are dropped so the copy cannot gain a prototype.
 *
 * Nesting is bounded (parseJson bounds config.json text the same way) so that a deep or cyclic
 * object from a library caller is an error naming the top-level member, not a stack overflow.
 */
function withoutNulls(value: unknown, depth: number, top: string): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_JSON_DEPTH) throw new SpecError(top, `nested too deeply (more than ${MAX_JSON_DEPTH} levels)`);
  if (Array.isArray(value)) return value.map((item) => withoutNulls(item, depth + 1, top));
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === null || key === "__proto__") continue;
    out[key] = withoutNulls(member, depth + 1, top || formatIssuePath([{ key }]));
  }
  return out;
}

function parseShape<K extends "spec" | "process">(kind: K, json: unknown, base: string) {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SpecError(base, base ? "must be an object" : "config must be a JSON object");
  }
  const result = checkShape(kind, withoutNulls(json, 1, base));
  if (!result.ok) throw new SpecError(formatIssuePath(result.path, base), result.message);
  return result.output;
}

function runRules(rules: readonly SpecRule[], spec: ValidSpec, options: ValidateOptions): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  const ctx: RuleContext = {
    options,
    fail(path, message): never {
      throw new SpecError(path, message);
    },
    warn(path, message) {
      warnings.push({ path, message });
    },
  };
  for (const rule of rules) rule.check(spec, ctx);
  return warnings;
}

/**
 * Checked seccomp sections, by the deep-frozen object given (see frozen.ts): its shape's
 * output, frozen too. An engine puts the same frozen default profile in every container's
 * spec, and checking its ~370 syscall names was half the time of a whole spec's. A memo of a
 * pure check: the shape check reads nothing but the value, and a frozen value cannot change.
 */
const checkedSeccomp = new WeakMap<object, LinuxSeccomp>();

/** Check a parsed config.json. Throws SpecError; returns the normalised spec and runc-style warnings. */
export function validateSpec(json: unknown, options: ValidateOptions = {}): ValidateResult {
  const given = frozenSeccomp(json);
  const known = given && checkedSeccomp.get(given);
  // The annotation is also the compile-time proof that schema.ts and types.ts agree.
  const spec: ValidSpec = parseShape("spec", known ? withSeccomp(json, {}) : json, "");
  const linux = spec.linux;
  if (linux && known) linux.seccomp = known;
  else if (linux?.seccomp && given) checkedSeccomp.set(given, deepFreeze(linux.seccomp));
  // The rules, cross-field, run on every spec: seccomp's among them.
  const warnings = runRules(SPEC_RULES, spec, options);
  return { spec, warnings };
}

/** json's linux.seccomp when it is deep-frozen (and so may be in checkedSeccomp). */
function frozenSeccomp(json: unknown): object | undefined {
  const linux = isObject(json) ? json.linux : undefined;
  const seccomp = isObject(linux) ? linux.seccomp : undefined;
  return isDeepFrozen(seccomp) ? seccomp : undefined;
}

/** json with another linux.seccomp, in the same place among linux's members. */
function withSeccomp(json: unknown, seccomp: object): unknown {
  const spec = json as Record<string, Record<string, unknown>>;
  return { ...spec, linux: { ...spec.linux, seccomp } };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export interface ParseSpecOptions extends ValidateOptions {
  /** Called once per warning, e.g. to log `husk: warning: mounts[1].destination: …`. */
  onWarning?: (warning: SpecWarning) => void;
}

/** validateSpec for callers that only want the spec. */
export function parseSpec(json: unknown, options: ParseSpecOptions = {}): ValidSpec {
  const { spec, warnings } = validateSpec(json, options);
  if (options.onWarning) for (const w of warnings) options.onWarning(w);
  return spec;
}

/**
 * Check a process.json (`husk exec --process`) with config.json's rules for `process`.
 * Paths keep the `process.` prefix, so messages read the same as for config.json.
 */
export function parseProcess(json: unknown, options: ParseSpecOptions = {}): Process {
  const process: Process = parseShape("process", json, "process");
  // The process rules only look at spec.process; the rest is a placeholder.
  const spec: ValidSpec = { ociVersion: OCI_VERSION, root: { path: "rootfs" }, process };
  const warnings = runRules(PROCESS_RULES, spec, options);
  if (options.onWarning) for (const w of warnings) options.onWarning(w);
  return process;
}

/** Run one rule on an already parsed spec, returning its warnings (for tests and tools). */
export function runRule(rule: SpecRule, spec: ValidSpec, options: ValidateOptions = {}): SpecWarning[] {
  return runRules([rule], spec, options);
}
