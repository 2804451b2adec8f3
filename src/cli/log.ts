/**
 * runc's --log and --log-format: error and debug lines in logrus's text or JSON shape, to the
 * log file when one is given (containerd's shim reads it back on failure), else to stderr.
 * node:fs is loaded only when a line is written: a `state` that logs nothing does not pay for it.
 */
import { stderr } from "../sys/stdio.ts";

export interface LogTarget {
  file?: string;
  json: boolean;
}

let target: LogTarget = { json: false };

export function setLogTarget(t: LogTarget): void {
  target = t;
}

function format(level: "error" | "debug", message: string): string {
  const time = new Date().toISOString();
  return target.json
    ? JSON.stringify({ level, msg: message, time })
    : `time="${time}" level=${level} msg="${message.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function append(line: string): boolean {
  if (!target.file) return false;
  try {
    const { appendFileSync } = process.getBuiltinModule("node:fs") as typeof import("node:fs");
    appendFileSync(target.file, `${line}\n`);
    return true;
  } catch {
    return false;
  }
}

/** An error: always on stderr as `husk: …`, and in the log file too when there is one. */
export function logError(message: string): void {
  stderr(`husk: ${message}\n`);
  append(format("error", message));
}

/** A --debug line: in the log file when there is one, else on stderr (as runc). */
export function logDebug(message: string): void {
  const line = format("debug", message);
  if (!append(line)) stderr(`${line}\n`);
}
