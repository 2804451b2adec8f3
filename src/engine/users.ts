/**
 * docker's `--user`: "uid", "uid:gid", "name" or "name:group", names looked up in the image's
 * /etc/passwd and /etc/group (read from its layers on the host, top layer first, without
 * following links out of a layer). A numeric uid need not exist; a name must.
 */
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError, quote } from "../errors.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** A regular file's text from the topmost layer that has the path; undefined if none (or a whiteout). */
export function readFromLayers(layersTopFirst: string[], path: string): string | undefined {
  for (const layer of layersTopFirst) {
    const p = join(layer, path);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isCharacterDevice()) return undefined; // overlayfs whiteout: deleted above
    if (!st.isFile()) return undefined;
    return readFileSync(p, "utf8");
  }
  return undefined;
}

interface Entry {
  name: string;
  id: number;
  gid: number;
  members: string[];
}

function parseDb(text: string | undefined, kind: "passwd" | "group"): Entry[] {
  return (text ?? "")
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 4 && f[0])
    .map((f) => ({
      name: f[0]!,
      id: Number(f[2]),
      gid: kind === "passwd" ? Number(f[3]) : Number(f[2]),
      members: kind === "group" ? (f[3] ?? "").split(",").filter(Boolean) : [],
    }));
}

const isNum = (s: string) => /^\d+$/.test(s);

export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined): ResolvedUser {
  if (spec === "") return { uid: 0, gid: 0 };
  const [u, g] = spec.split(":") as [string, string | undefined];
  const passwd = parseDb(passwdText, "passwd");
  const groups = parseDb(groupText, "group");
  const pw = isNum(u) ? passwd.find((e) => e.id === Number(u)) : passwd.find((e) => e.name === u);
  if (!isNum(u) && !pw) throw new HuskError(`unable to find user ${quote(u)}: no matching entries in the image's /etc/passwd`);
  const uid = isNum(u) ? Number(u) : pw!.id;
  let gid = pw?.gid ?? 0;
  if (g !== undefined) {
    if (isNum(g)) gid = Number(g);
    else {
      const gr = groups.find((e) => e.name === g);
      if (!gr) throw new HuskError(`unable to find group ${quote(g)}: no matching entries in the image's /etc/group`);
      gid = gr.id;
    }
  }
  if (uid > 0xfffffffe || gid > 0xfffffffe) throw new HuskError(`invalid user ${quote(spec)}`);
  const additionalGids = pw ? groups.filter((e) => e.members.includes(pw.name) && e.id !== gid).map((e) => e.id) : [];
  return additionalGids.length ? { uid, gid, additionalGids } : { uid, gid };
}

/** --group-add: gids as given, group names looked up in the image's /etc/group. */
export function resolveGroups(groups: string[], groupText: string | undefined): number[] {
  const db = parseDb(groupText, "group");
  return groups.map((g) => {
    if (isNum(g)) return Number(g);
    const gr = db.find((e) => e.name === g);
    if (!gr) throw new HuskError(`unable to find group ${quote(g)}: no matching entries in the image's /etc/group`);
    return gr.id;
  });
}
