/**
 * Talking to an OCI Distribution registry: where it is (docker.io is served by
 * registry-1.docker.io; plain http only for a loopback host or when asked), the auth handshake,
 * redirects, stalls, and the registry's errors as one-line HuskErrors. Uses the global fetch,
 * which Bun and Node ≥ 20 both have, with redirects followed here (not by fetch) so that the
 * Authorization header never leaves the registry's origin.
 *
 *   GET /v2/<repo>/manifests/<ref>        → 401  WWW-Authenticate: Bearer realm="…",service="…",scope="…"
 *   GET <realm>?service=…&scope=…          (Basic user:password when there are credentials) → {"token": …}
 *   GET /v2/<repo>/manifests/<ref>        Authorization: Bearer <token> → 200
 *   GET /v2/<repo>/blobs/<digest>         → 307 Location: https://storage.example/…
 *   GET https://storage.example/…         (no Authorization: another origin) → 200
 *
 * A registry that asks for Basic gets the credentials on the retry. A token that expires during
 * a long pull is renewed on the 401 that says so.
 */
import { AbortError, HuskError, NotFoundError, TimeoutError } from "../errors.ts";

export interface Credentials {
  username: string;
  password: string;
}

/** One challenge of a WWW-Authenticate header: its scheme (lowercase) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * The challenges of a WWW-Authenticate header (RFC 9110 §11.6.1): `Bearer realm="…",
 * service="…", Basic realm="…"`. Commas separate both challenges and their parameters; a
 * parameter is a token, "=", and a token or a quoted string. Lenient: what does not parse is skipped.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: string) => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && TOKEN.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skip(" \t,");
    const word = token();
    if (!word) {
      i++;
      continue;
    }
    skip(" \t");
    if (header[i] === "=" && out.length > 0) {
      i++;
      skip(" \t");
      let value = "";
      if (header[i] === '"') {
        for (i++; i < n && header[i] !== '"'; i++) value += header[i] === "\\" && i + 1 < n ? header[++i] : header[i];
        i++;
      } else value = token();
      out[out.length - 1]!.params[word.toLowerCase()] = value;
      continue;
    }
    out.push({ scheme: word.toLowerCase(), params: {} });
    // A token68 after the scheme (`Basic dXNlcg==`) is a credential blob, not a parameter: skip it.
    const t68 = /^[A-Za-z0-9\-._~+/]+=*/.exec(header.slice(i));
    if (t68) {
      const after = header.slice(i + t68[0].length).trimStart();
      if (after === "" || after.startsWith(",")) i += t68[0].length;
    }
  }
  return out;
}

/** Hosts that get plain http: this machine only. */
export function isLoopback(domain: string): boolean {
  const host = domain.startsWith("[") ? domain.slice(0, domain.indexOf("]") + 1) : domain.split(":")[0]!;
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** The base URL of a registry's API: docker.io → https://registry-1.docker.io. */
export function registryBase(domain: string, insecure = false): string {
  const host = domain === "docker.io" ? "registry-1.docker.io" : domain;
  return `${insecure || isLoopback(domain) ? "http" : "https"}://${host}`;
}

/** The credentials as an Authorization header value. */
export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

export interface RegistryOptions {
  /** Plain http (and an http token realm) for a host that is not loopback. */
  insecure?: boolean;
  credentials?: Credentials;
  signal?: AbortSignal;
  /** A request (or a body) that gets no bytes for this long fails. Default 60 s. */
  stallMs?: number;
  /** Tokens for pushing too (scope pull,push), not only for pulling. */
  push?: boolean;
}

/** A request's method and body; the body is made again for a retry (after a 401) or a 307/308. */
export interface RequestInit {
  method?: "GET" | "HEAD" | "POST" | "PUT";
  headers?: Record<string, string>;
  body?: () => BodyInit;
}

/** The error text a registry puts in its body: {"errors":[{"code":"…","message":"…"}]}. */
async function registryMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      return errors
        .map((e) => {
          const code = e.code?.toLowerCase().replace(/_/g, " ");
          return code && e.message && e.message.toLowerCase() !== code ? `${code}: ${e.message}` : (e.message ?? code ?? "");
        })
        .join("; ");
    }
  } catch {}
  return text.trim().split("\n")[0]!.slice(0, 200);
}

/** What fetch threw, in Bun's words or undici's, as one line. */
export function networkText(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ConnectionRefused: "connection refused",
    ECONNRESET: "connection reset",
    ConnectionClosed: "connection closed",
    UND_ERR_SOCKET: "connection closed",
    ENOTFOUND: "no such host",
    EAI_AGAIN: "name resolution failed",
    ETIMEDOUT: "connection timed out",
    UND_ERR_CONNECT_TIMEOUT: "connection timed out",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
    DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: self-signed certificate",
    SELF_SIGNED_CERT_IN_CHAIN: "TLS: self-signed certificate in the chain",
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: unable to verify the certificate",
    CERT_HAS_EXPIRED: "TLS: certificate has expired",
    ERR_TLS_CERT_ALTNAME_INVALID: "TLS: the certificate is not for this host",
  };
  if (code && known[code]) return `${known[code]} (${code})`;
  const text = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${text} (${code})` : text;
}

/** The HTTP conversation with one repository of one registry. */
export class Registry {
  readonly base: string;
  private readonly origin: string;
  private authorization: string | undefined;
  private readonly stallMs: number;

  constructor(
    /** host[:port] as in the reference: docker.io, localhost:5000. */
    readonly domain: string,
    /** The repository: library/busybox. */
    readonly repo: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.base = registryBase(domain, opts.insecure);
    this.origin = new URL(this.base).origin;
    this.stallMs = opts.stallMs ?? 60_000;
  }

  /**
   * GET a path of the API (`/v2/<repo>/manifests/<tag>`), authenticating on a 401 and following
   * redirects. Returns a 2xx response whose body is read through `body`; anything else throws:
   * 404 a NotFoundError, 401/403 an auth error, the rest the status with the registry's message.
   */
  async get(path: string, headers: Record<string, string>, what: string): Promise<Response> {
    return this.request(path, { headers }, what);
  }

  /**
   * A request to a path of the API (or a URL the registry gave, an upload's Location), as get
   * makes it: authenticated on a 401, redirects followed, errors as get's. HEAD's 404 is
   * returned, not thrown: it answers "is the blob there?".
   */
  async request(path: string, init: RequestInit, what: string): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
    let res = await this.send(url, init.headers ?? {}, what, false, init);
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      const message = await registryMessage(res);
      const before = this.authorization;
      await this.authenticate(parseChallenges(challenge), what, message);
      if (this.authorization === before) throw this.authFailed(what, message);
      res = await this.send(url, init.headers ?? {}, what, false, init);
    }
    if (res.ok || (init.method === "HEAD" && res.status === 404)) return res;
    const message = await registryMessage(res);
    if (res.status === 404) throw new NotFoundError(`not found in the registry${message ? ` (${message})` : ""}`, { what });
    if (res.status === 401 || res.status === 403) throw this.authFailed(what, message);
    if (res.status === 429) throw new HuskError(`too many requests: the registry limits the rate (${message})`, { what });
    throw new HuskError(`the registry answered ${res.status} ${res.statusText}${message ? `: ${message}` : ""}`, { what });
  }

  /** GET /v2/: whether the credentials (if any) are accepted. Throws as get does. */
  async ping(): Promise<void> {
    const res = await this.get("/v2/", {}, `log in to ${this.domain}`);
    await res.body?.cancel();
  }

  private authFailed(what: string, message: string): HuskError {
    const why = message ? ` (${message})` : "";
    if (this.opts.credentials)
      return new HuskError(`authentication failed for ${this.opts.credentials.username}${why}`, { what });
    return new HuskError(
      `the registry requires authentication${why}: the repository does not exist or needs \`husk login ${this.domain}\``,
      { what },
    );
  }

  /** Set this.authorization from the registry's challenges. */
  private async authenticate(challenges: Challenge[], what: string, message: string): Promise<void> {
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const creds = this.opts.credentials;
    if (bearer) {
      this.authorization = `Bearer ${await this.token(bearer.params, what)}`;
      return;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      if (!creds) throw this.authFailed(what, message);
      this.authorization = basicAuth(creds);
      return;
    }
    throw new HuskError(
      `the registry asks for authentication the way husk does not know (${challenges.map((c) => c.scheme).join(", ") || "no challenge"})`,
      { what },
    );
  }

  /** A bearer token from the realm the challenge names, for its scope (or pulling this repository). */
  private async token(params: Record<string, string>, what: string): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new HuskError("the registry's Bearer challenge names no realm", { what });
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new HuskError(`the registry's token realm ${JSON.stringify(realm)} is not a URL`, { what });
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && (this.opts.insecure || isLoopback(url.host)))) {
      throw new HuskError(`refusing the token realm ${url.origin}: only https (or http on this machine, or insecure)`, { what });
    }
    if (params.service) url.searchParams.set("service", params.service);
    const scope = params.scope ?? (this.repo ? `repository:${this.repo}:${this.opts.push ? "pull,push" : "pull"}` : "");
    for (const s of scope.split(" ").filter(Boolean)) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    const creds = this.opts.credentials;
    if (creds) headers.authorization = basicAuth(creds);
    const res = await this.send(url.href, headers, what, true);
    if (!res.ok) {
      const message = await registryMessage(res);
      if (res.status === 401 || res.status === 403) {
        throw new HuskError(
          creds
            ? `authentication failed for ${creds.username}: the token server refused the credentials${message ? ` (${message})` : ""}`
            : `the token server refused anonymous access${message ? ` (${message})` : ""}`,
          { what },
        );
      }
      throw new HuskError(`the token server answered ${res.status} ${res.statusText}${message ? `: ${message}` : ""}`, { what });
    }
    let body: { token?: string; access_token?: string };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new HuskError("the token server's answer is not JSON", { what });
    }
    const token = body.token ?? body.access_token;
    if (typeof token !== "string" || !token) throw new HuskError("the token server's answer has no token", { what });
    return token;
  }

  /**
   * One request with redirects followed by hand: Authorization goes to the registry's origin
   * only (or to the token realm, which the caller gives it explicitly), never after a redirect to
   * another host, and an https request is never redirected to plain http unless insecure.
   */
  private async send(
    url: string,
    headers: Record<string, string>,
    what: string,
    explicit = false,
    init: RequestInit = {},
  ): Promise<Response> {
    let target = new URL(url);
    for (let hops = 0; ; hops++) {
      const h: Record<string, string> = { "user-agent": "husk", ...headers };
      if (explicit && hops > 0 && target.origin !== new URL(url).origin) delete h.authorization;
      if (!explicit && this.authorization && target.origin === this.origin) h.authorization = this.authorization;
      const res = await this.fetch(target, h, what, init);
      const location = res.headers.get("location");
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      await res.body?.cancel().catch(() => {});
      if (hops >= 10) throw new HuskError("too many redirects", { what });
      const next = new URL(location, target);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new HuskError(`refusing a redirect to ${next.protocol} URL`, { what });
      }
      if (target.protocol === "https:" && next.protocol === "http:" && !this.opts.insecure && !isLoopback(next.host)) {
        throw new HuskError(`refusing a redirect from https to plain http (${next.origin})`, { what });
      }
      target = next;
    }
  }

  /** fetch with the caller's signal and a stall limit; network failures become one-line errors. */
  private async fetch(url: URL, headers: Record<string, string>, what: string, init: RequestInit = {}): Promise<Response> {
    const stall = new AbortController();
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, stall.signal]) : stall.signal;
    let timer = setTimeout(() => stall.abort(), this.stallMs);
    // A body nobody reads must not keep the process alive for the stall limit.
    timer.unref?.();
    const fail = (err: unknown): HuskError => {
      if (this.opts.signal?.aborted) return new AbortError("aborted", { what });
      if (stall.signal.aborted) return new TimeoutError(`no data from ${url.host} for ${this.stallMs / 1000} s`, { what });
      return new HuskError(`cannot reach ${url.host}: ${networkText(err)}`, { what });
    };
    let res: Response;
    try {
      // identity: a blob is stored as the registry has it; fetch must not decode a Content-Encoding.
      res = await fetch(url, {
        method: init.method ?? "GET",
        headers: { "accept-encoding": "identity", ...headers },
        body: init.body?.(),
        redirect: "manual",
        signal,
      });
    } catch (err) {
      clearTimeout(timer);
      throw fail(err);
    }
    // No body, or one fetch would not let a Response carry: nothing to watch.
    if (!res.body || [101, 204, 205, 304].includes(res.status)) {
      clearTimeout(timer);
      return res;
    }
    const reader = res.body.getReader();
    const stallMs = this.stallMs;
    // The body again, the stall timer re-armed on every chunk, errors in one line. Pulled, so
    // it reads no faster than the consumer (a layer is written to disk as it comes).
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await reader.read();
          clearTimeout(timer);
          if (r.done) controller.close();
          else {
            timer = setTimeout(() => stall.abort(), stallMs);
            timer.unref?.();
            controller.enqueue(r.value);
          }
        } catch (err) {
          clearTimeout(timer);
          controller.error(fail(err));
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason).catch(() => {});
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
}
