/**
 * docker ps --filter: key=value conditions on containers. Values of one key are alternatives,
 * different keys must all hold. A status (or exited) filter lists stopped containers without -a,
 * as docker's does.
 */
import { HuskError, quote } from "../errors.ts";
import type { ContainerRecord } from "./records.ts";

export type ContainerFilters = Record<string, string[]>;

const KEYS = ["id", "name", "label", "status", "exited", "ancestor", "network", "volume", "restart-policy"] as const;
const STATUSES = ["created", "running", "paused", "restarting", "exited"];
const POLICIES = ["no", "always", "unless-stopped", "on-failure"];

/** "key=value" strings (the CLI's) as filters; an unknown key or status is an error naming it. */
export function parseFilters(items: string[]): ContainerFilters {
  const out: ContainerFilters = {};
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) throw new HuskError(`bad format of filter ${quote(item)} (expected name=value)`, { origin: "--filter" });
    const key = item.slice(0, at);
    out[key] = [...(out[key] ?? []), item.slice(at + 1)];
  }
  return checkFilters(out, "--filter");
}

/** Filters from a library caller (or parseFilters): errors name `origin` (default "filters"). */
export function checkFilters(filters: ContainerFilters, origin = "filters"): ContainerFilters {
  if (filters === null || typeof filters !== "object") throw new HuskError("must be an object of string lists", { origin });
  for (const [key, values] of Object.entries(filters)) {
    if (!(KEYS as readonly string[]).includes(key))
      throw new HuskError(`invalid filter ${quote(key)}: one of ${KEYS.join(", ")}`, { origin });
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string"))
      throw new HuskError("must be lists of strings", { origin: `${origin}.${key}` });
    if (key === "status")
      for (const v of values)
        if (!STATUSES.includes(v)) throw new HuskError(`invalid filter 'status=${v}': one of ${STATUSES.join(", ")}`, { origin });
    if (key === "restart-policy")
      for (const v of values)
        if (!POLICIES.includes(v))
          throw new HuskError(`invalid filter 'restart-policy=${v}': one of ${POLICIES.join(", ")}`, { origin });
    if (key === "exited")
      for (const v of values) if (!/^\d+$/.test(v)) throw new HuskError(`invalid filter 'exited=${v}': an exit code`, { origin });
  }
  return filters;
}

/** Whether stopped containers are wanted even without all. */
export const listsStopped = (f: ContainerFilters) => f.status !== undefined || f.exited !== undefined;

/** What the filters look at, for one container. */
export interface FilterSubject {
  rec: ContainerRecord;
  state: string;
  exitCode?: number;
}

export function matches(f: ContainerFilters, { rec, state, exitCode }: FilterSubject): boolean {
  const any = (key: string, test: (v: string) => boolean) => f[key] === undefined || f[key]!.some(test);
  const label = (v: string) => {
    const at = v.indexOf("=");
    const k = at < 0 ? v : v.slice(0, at);
    return k in rec.config.labels && (at < 0 || rec.config.labels[k] === v.slice(at + 1));
  };
  const ancestor = (v: string) =>
    rec.image === v || rec.imageId === v || rec.imageId.replace(/^sha256:/, "").startsWith(v.replace(/^sha256:/, ""));
  const networks = [
    ...new Set([...(rec.network ? [rec.network] : []), ...rec.networks.map((n) => n.network), rec.hostConfig.networkMode]),
  ];
  return (
    any("id", (v) => rec.id.startsWith(v)) &&
    any("name", (v) => rec.name.includes(v)) &&
    any("label", label) &&
    any("status", (v) => v === state) &&
    any("exited", (v) => state === "exited" && exitCode === Number(v)) &&
    any("ancestor", ancestor) &&
    any("network", (v) => networks.includes(v)) &&
    any("volume", (v) => rec.mounts.some((m) => m.name === v || m.destination === v)) &&
    any("restart-policy", (v) => (rec.hostConfig.restartPolicy?.name ?? "no") === v)
  );
}
