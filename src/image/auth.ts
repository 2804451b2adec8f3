/**
 * Registry credentials: `husk login` stores them in <dataRoot>/auth.json (mode 0600) in the
 * shape of docker's config.json, so either file can be given to a pull:
 *
 *   { "auths": { "registry.example:5000": { "auth": "<base64 of user:password>" } } }
 *
 * Docker Hub is keyed "docker.io" here; docker's own key for it, https://index.docker.io/v1/,
 * is read too. Keys written as URLs (https://host/…) match their host.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { fromSystemError, HuskError } from "../errors.ts";
import { parseJson } from "./oci.ts";
import { type Credentials, Registry } from "./registry.ts";

export const AUTH_FILE = "auth.json";

/** The credentials file of a data root. */
export function authFile(dataRoot: string): string {
  return join(dataRoot, AUTH_FILE);
}

interface AuthConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [other: string]: unknown;
}

/**
 * A registry as login and the file name it: "https://index.docker.io/v1/" and
 * "registry-1.docker.io" → docker.io, "https://r.example:5000/v2/" → r.example:5000.
 */
export function registryKey(registry: string): string {
  let host = registry.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  host = host.split("/")[0]!.toLowerCase();
  if (host === "index.docker.io" || host === "registry-1.docker.io" || host === "") return "docker.io";
  return host;
}

async function readConfig(file: string, required = false): Promise<AuthConfig> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !required) return {};
    throw fromSystemError(err, `read credentials ${file}`);
  }
  const cfg = parseJson(text, `credentials ${file}`);
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) {
    throw new HuskError("not a JSON object", { what: `credentials ${file}` });
  }
  return cfg as AuthConfig;
}

/**
 * The credentials a file holds for a registry (host[:port] as in a reference), if any. A missing
 * file holds none, unless `required` (a file the caller named).
 */
export async function readCredentials(
  file: string,
  registry: string,
  opts: { required?: boolean } = {},
): Promise<Credentials | undefined> {
  const auths = (await readConfig(file, opts.required)).auths ?? {};
  const want = registryKey(registry);
  const entry = Object.entries(auths).find(([k]) => registryKey(k) === want)?.[1];
  if (!entry) return undefined;
  if (typeof entry.username === "string" && typeof entry.password === "string") {
    return { username: entry.username, password: entry.password };
  }
  if (typeof entry.auth === "string" && entry.auth) {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  throw new HuskError(`the entry for ${want} has no username and password`, { what: `credentials ${file}` });
}

/** Write the file whole, mode 0600, by rename: a reader never sees half of it. */
async function writeConfig(file: string, cfg: AuthConfig): Promise<void> {
  const dir = join(file, "..");
  const tmp = join(dir, `.${AUTH_FILE}.${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.writeFile(tmp, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw fromSystemError(err, `write credentials ${file}`);
  }
}

export interface LoginOptions {
  /** Plain http to a host that is not loopback. */
  insecure?: boolean;
  signal?: AbortSignal;
}

/**
 * Check the credentials against the registry (GET /v2/ through its auth: a token with them, or
 * Basic), then store them for the registry in <dataRoot>/auth.json. Throws, storing nothing,
 * when the registry refuses them.
 */
export async function login(
  dataRoot: string,
  registry: string,
  username: string,
  password: string,
  opts: LoginOptions = {},
): Promise<void> {
  const key = registryKey(registry);
  if (!username) throw new HuskError("a username is required", { what: `log in to ${key}` });
  await new Registry(key, "", { credentials: { username, password }, insecure: opts.insecure, signal: opts.signal }).ping();
  const file = authFile(dataRoot);
  const cfg = await readConfig(file);
  const auths = Object.fromEntries(Object.entries(cfg.auths ?? {}).filter(([k]) => registryKey(k) !== key));
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
  await writeConfig(file, { ...cfg, auths });
}

/** Forget the credentials for a registry. Returns whether there were any. */
export async function logout(dataRoot: string, registry: string): Promise<boolean> {
  const key = registryKey(registry);
  const file = authFile(dataRoot);
  const cfg = await readConfig(file);
  const entries = Object.entries(cfg.auths ?? {});
  const kept = entries.filter(([k]) => registryKey(k) !== key);
  if (kept.length === entries.length) return false;
  await writeConfig(file, { ...cfg, auths: Object.fromEntries(kept) });
  return true;
}

/**
 * The credentials a pull or push uses: given, from a credentials file given (which must have
 * them), or from <dataRoot>/auth.json (`husk login`'s) if it has the registry.
 */
export async function credentialsFor(
  dataRoot: string,
  registry: string,
  auth: Credentials | string | undefined,
): Promise<Credentials | undefined> {
  if (typeof auth === "object") return auth;
  if (typeof auth === "string") return readCredentials(auth, registry, { required: true });
  return readCredentials(authFile(dataRoot), registry);
}
