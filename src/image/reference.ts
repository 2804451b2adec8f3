/**
 * Docker-style image references (busybox, busybox:1.36, library/x, registry.example:5000/ns/x:tag,
 * x@sha256:…), parsed by the grammar of distribution's reference package and normalised the
 * way docker does: no registry means docker.io, a one-part name on docker.io means library/,
 * no tag and no digest means :latest. Pure: no I/O.
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ("/" path-component)*
 *   domain    := host [":" port]     (a first part with "." or ":", or "localhost")
 */
import { HuskError } from "../errors.ts";

export interface ImageRef {
  /** Registry host[:port]: "docker.io", "registry.example:5000". */
  domain: string;
  /** Repository path inside the registry: "library/busybox", "ns/x". */
  path: string;
  /** The tag; undefined only when a digest is given without one. */
  tag?: string;
  /** "sha256:<64 hex>" when the reference pins a manifest. */
  digest?: string;
}

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;
const NAME_MAX = 255;

function invalid(ref: string, why: string): HuskError {
  return new HuskError(`invalid reference format: ${why}`, { what: `image reference "${ref}"` });
}

function validDomain(domain: string): boolean {
  // host[:port]; an IPv6 literal in brackets is allowed as a host.
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::([0-9]+))?$/.exec(domain);
  if (!m) return false;
  const host = m[1]!;
  return host.startsWith("[") || host.split(".").every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parse and normalise a reference; throws HuskError with the reason when it is not one. */
export function parseRef(input: string): ImageRef {
  const ref = input.trim();
  if (ref === "") throw invalid(input, "empty reference");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `bad digest "${digest}"`);
    if (digest.startsWith("sha256:") && !SHA256.test(digest)) throw invalid(input, `"${digest}" is not a sha256 digest`);
  }
  // The tag is after the last ":" that comes after the last "/" (a port's ":" comes before one).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `bad tag "${tag}"`);
  }
  if (rest === "") throw invalid(input, "no repository name");
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!validDomain(domain)) throw invalid(input, `bad registry "${domain}"`);
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) throw invalid(input, "repository name must be lowercase");
  const parts = path.split("/");
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) throw invalid(input, `bad repository name component "${p}"`);
  }
  if (domain === DEFAULT_DOMAIN && parts.length === 1) {
    if (/^[a-f0-9]{64}$/.test(path)) {
      throw invalid(input, "a repository name cannot be a 64-character hexadecimal string (an image id?)");
    }
    path = `library/${path}`;
  }
  if (`${domain}/${path}`.length > NAME_MAX) throw invalid(input, `repository name longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** "docker.io/library/busybox": the repository, fully qualified. */
export function refName(ref: ImageRef): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified reference: "docker.io/library/busybox:latest", "r.example/x@sha256:…". */
export function refString(ref: ImageRef): string {
  return `${refName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The repository as docker shows it: docker.io/library/busybox → busybox, docker.io/ns/x → ns/x. */
export function familiarName(ref: ImageRef): string {
  if (ref.domain !== DEFAULT_DOMAIN) return refName(ref);
  return ref.path.startsWith("library/") && ref.path.split("/").length === 2 ? ref.path.slice("library/".length) : ref.path;
}

/** The reference as docker shows it: busybox:latest, ns/x@sha256:…, r.example:5000/x:1. */
export function familiarString(ref: ImageRef): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Normalise a reference string: "busybox" → "docker.io/library/busybox:latest". */
export function normalizeRef(input: string): string {
  return refString(parseRef(input));
}
