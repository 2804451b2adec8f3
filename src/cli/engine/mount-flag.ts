/**
 * docker's --mount: "type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]"
 * (src/dst/destination and ro as docker's aliases) turned into the library's volumes and tmpfs.
 * A volume without a source is anonymous.
 */

import type { TmpfsSpec, VolumeSpec } from "../../engine/options.ts";
import { HuskError, quote } from "../../errors.ts";

const KEYS: Record<string, string> = {
  type: "type",
  source: "source",
  src: "source",
  target: "target",
  destination: "target",
  dst: "target",
  readonly: "readonly",
  ro: "readonly",
  "tmpfs-size": "tmpfs-size",
  "tmpfs-mode": "tmpfs-mode",
};

const bad = (text: string, why: string) => new HuskError(`invalid argument ${quote(text)} for "--mount" flag: ${why}`);

export function parseMountFlag(text: string): { volume: VolumeSpec } | { tmpfs: TmpfsSpec } {
  const fields: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part === "") continue;
    const at = part.indexOf("=");
    const rawKey = (at < 0 ? part : part.slice(0, at)).toLowerCase();
    const key = KEYS[rawKey];
    if (!key) throw bad(text, `unknown option ${quote(rawKey)}`);
    fields[key] = at < 0 ? (key === "readonly" ? "true" : "") : part.slice(at + 1);
  }
  const type = fields.type ?? "volume";
  const target = fields.target;
  if (!target) throw bad(text, "target is required");
  const ro = fields.readonly;
  if (ro !== undefined && !["true", "false", "1", "0"].includes(ro))
    throw bad(text, `readonly must be a boolean, not ${quote(ro)}`);
  const readOnly = ro === "true" || ro === "1";
  if (type !== "tmpfs" && (fields["tmpfs-size"] !== undefined || fields["tmpfs-mode"] !== undefined))
    throw bad(text, `tmpfs options are only for type=tmpfs`);
  switch (type) {
    case "bind":
      if (!fields.source) throw bad(text, "a bind mount needs a source");
      return { volume: { source: fields.source, target, readOnly } };
    case "volume":
      return { volume: { source: fields.source ?? "", target, readOnly } };
    case "tmpfs": {
      if (fields.source) throw bad(text, "a tmpfs mount takes no source");
      const options = [
        ...(fields["tmpfs-size"] ? [`size=${fields["tmpfs-size"]}`] : []),
        ...(fields["tmpfs-mode"] ? [`mode=${fields["tmpfs-mode"]}`] : []),
        ...(readOnly ? ["ro"] : []),
      ].join(",");
      return { tmpfs: options ? { target, options } : { target } };
    }
    default:
      throw bad(text, `type must be bind, volume or tmpfs, not ${quote(type)}`);
  }
}
