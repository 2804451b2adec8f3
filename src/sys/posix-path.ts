/**
 * node:path's posix join, normalize, dirname and basename, for the modules every runtime verb
 * loads (state, status, start, delete): loading node:path costs the compiled CLI 0.5–0.9 ms
 * (bench/verb-latency.ts against `bun -e 0`), a third of what a verb may add to Bun's own
 * start. Same strings as node:path.posix for every input; test/unit/posix-path.test.ts
 * compares the two on random paths. Modules off the verbs' path keep node:path.
 */

/** Lexically: no empty, "." or resolvable ".." components; a trailing "/" kept. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else if (!absolute) parts.push("..");
  }
  const body = parts.join("/");
  if (absolute) return body === "" ? "/" : `/${body}${path.endsWith("/") ? "/" : ""}`;
  if (body === "") return path.endsWith("/") ? "./" : ".";
  return path.endsWith("/") ? `${body}/` : body;
}

export function join(...paths: string[]): string {
  const joined = paths.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** Everything before the last component (trailing slashes are not one). */
export function dirname(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  let i = path.length - 1;
  while (i >= 1 && path[i] === "/") i--; // trailing slashes
  while (i >= 1 && path[i] !== "/") i--; // the last component
  // i: the slash just before it. A slash at 0 is the root, never looked at: "/a" → "/".
  if (i < 1) return rooted ? "/" : ".";
  // node keeps POSIX's implementation-defined leading "//" ("//a" → "//").
  if (rooted && i === 1) return "//";
  return path.slice(0, i);
}

/** The last component, without trailing slashes. */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}
