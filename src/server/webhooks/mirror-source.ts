/**
 * Where a mirror fetches from, read from a clone URL: the URL without credentials (the one git is
 * given and stored in the mirror's config), the credentials it carried, and the folder the
 * mirror lives in. Pure.
 *
 * Mirrors fetch over HTTP(S), or from a local path when the server allows it (tests, and
 * repositories on this machine). SSH and git:// are refused: they would need keys and host
 * verification the server does not manage. The folder name is readable (host and path) and
 * unique (a digest of the URL without credentials, `.git` and trailing slashes), so the same
 * repository reached with different tokens shares one mirror.
 */
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { type Result, error, failed, ok } from "../../diagnostic.js";

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export interface MirrorSource {
  readonly kind: "http" | "local";
  /** What git fetches from: the clone URL without credentials, or the absolute local path. */
  readonly url: string;
  /** `scheme://host:port/` of an HTTP URL: what an authorization header is scoped to. */
  readonly origin?: string;
  /** Credentials the URL carried (`https://user:token@host/...`). */
  readonly credentials?: BasicCredentials;
  /** The mirror's folder name under the mirrors' root. */
  readonly folder: string;
}

export interface MirrorSourceOptions {
  /** Accept local paths and file:// URLs. Default false: a webhook must not mirror this machine's files. */
  readonly allowLocal?: boolean;
}

const SLUG_LENGTH = 60;

export function mirrorSource(cloneUrl: string, options: MirrorSourceOptions = {}): Result<MirrorSource> {
  const given = cloneUrl.trim();
  if (given === "") return failed([error("the clone URL is empty: give the repository's HTTPS clone URL")]);
  if (isAbsolute(given) || given.startsWith("file://")) return localSource(given, options);
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return failed([
      error(`the clone URL '${redactUserInfo(given)}' is not a URL: give the repository's HTTPS clone URL`),
    ]);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return failed([
      error(
        `the clone URL '${redactUserInfo(given)}' uses ${url.protocol.replace(/:$/u, "")}; Conveyor mirrors over HTTP(S): give the repository's HTTPS clone URL`,
      ),
    ]);
  }
  const credentials =
    url.username === "" && url.password === ""
      ? undefined
      : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = "";
  url.password = "";
  url.hash = "";
  const clean = url.toString();
  return ok({
    kind: "http",
    url: clean,
    origin: `${url.protocol}//${url.host}/`,
    ...(credentials ? { credentials } : {}),
    folder: folderName(`${url.host}${url.pathname}`, identity(clean)),
  });
}

function localSource(given: string, options: MirrorSourceOptions): Result<MirrorSource> {
  if (options.allowLocal !== true) {
    return failed([
      error(
        `the clone URL '${given}' is a local path, and this server mirrors only HTTP(S) repositories: give the repository's HTTPS clone URL`,
      ),
    ]);
  }
  let path: string;
  try {
    path = given.startsWith("file://") ? decodeURIComponent(new URL(given).pathname) : resolve(given);
  } catch {
    return failed([error(`the clone URL '${given}' is not a file URL`)]);
  }
  return ok({ kind: "local", url: path, folder: folderName(`local${path}`, identity(path)) });
}

/** The URL reduced to what names the repository: no `.git`, no trailing slashes. */
function identity(url: string): string {
  return url.replace(/\/+$/u, "").replace(/\.git$/u, "");
}

function folderName(readable: string, key: string): string {
  const slug = identity(readable)
    .replace(/[^A-Za-z0-9._-]+/gu, "_")
    .replace(/^[._-]+/u, "")
    .slice(0, SLUG_LENGTH);
  const digest = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return `${slug === "" ? "repository" : slug}-${digest}.git`;
}

/** `https://user:secret@host/x` → `https://***@host/x`, for text that may hold a URL with credentials. */
export function redactUserInfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/giu, "$1***@");
}
