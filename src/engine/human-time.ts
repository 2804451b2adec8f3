/**
 * How long ago, in docker's words ("Less than a second", "About a minute", "3 hours",
 * "2 weeks"): the thresholds of the go-units HumanDuration that docker's ps, images and
 * history print, with " ago" added by the caller where docker adds it.
 */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return "Less than a second";
  if (s < 60) return s === 1 ? "1 second" : `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? "About a minute" : `${m} minutes`;
  const h = Math.floor(s / 3600 + 0.5);
  if (h < 48) return h === 1 ? "About an hour" : `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(s / 3600 / 24 / 365)} years`;
}

/** humanDuration from an ISO time until now; "" for none (never started, never ended). */
export function since(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  return Number.isFinite(t) ? humanDuration(now - t) : "";
}

/** "3 minutes ago", as docker's listings say when something was made; "" for no time. */
export function ago(iso: string | undefined, now = Date.now()): string {
  return iso ? `${since(iso, now)} ago` : "";
}
