/**
 * Which owner and repository names the server accepts, and how a git smart HTTP URL names one.
 * Pure. Names become folder names (`<root>/<owner>/<name>.git`) and URL segments, so only a
 * small, safe alphabet is allowed: GitHub's for repository names (letters, digits, `.`, `_`, `-`),
 * without the forms that mean something to a file system or to git's URLs.
 */
import { error, failed, ok } from "../../diagnostic.js";
import type { Diagnostic, Result } from "../../diagnostic.js";

/** GitHub's limit for a repository name. */
export const MAX_NAME_LENGTH = 100;

/**
 * Owners that would shadow the server's own top-level paths (`/<owner>/<name>` is a repository's
 * page and clone URL): the API, the dashboard's files and pages. Compared without case.
 */
export const RESERVED_OWNERS: readonly string[] = [
  "api", // the REST API, /api/v1
  "assets", // the dashboard's bundled files
  "static",
  "health", // the health check
  "login", // dashboard pages
  "logout",
  "settings",
  "runners",
  "badges", // status badges
];

export interface RepositoryName {
  readonly owner: string;
  readonly name: string;
}

const ALLOWED = "letters, digits, '.', '_' and '-'";
const NAME_CHARACTER = /[A-Za-z0-9._-]/;

/**
 * Checks an owner and a repository name, each error naming the field and what is allowed. A
 * trailing `.git` in a URL is the URL parser's to strip; a name that still ends in it is refused,
 * so that `<name>.git` always means one repository.
 */
export function checkRepositoryName(owner: string, name: string): Result<RepositoryName> {
  const errors = [...nameErrors("owner", owner), ...nameErrors("repository name", name)];
  if (RESERVED_OWNERS.includes(owner.toLowerCase())) {
    errors.push(error(`owner ${shown(owner)} is reserved for the server's own pages: choose another owner.`));
  }
  if (/\.git$/i.test(name)) {
    errors.push(
      error(
        `repository name ${shown(name)} ends in '.git', which clone URLs add: name it ${shown(name.replace(/\.git$/i, ""))}.`,
      ),
    );
  }
  return errors.length > 0 ? failed(errors) : ok({ owner, name });
}

function nameErrors(field: string, value: string): Diagnostic[] {
  if (value === "") return [error(`${field} is empty: give one made of ${ALLOWED}.`)];
  if (value.length > MAX_NAME_LENGTH) {
    return [error(`${field} is ${value.length} characters long; at most ${MAX_NAME_LENGTH} are allowed.`)];
  }
  const bad = [...value].find((character) => !NAME_CHARACTER.test(character));
  if (bad !== undefined) {
    return [error(`${field} ${shown(value)} holds ${describeCharacter(bad)}: use only ${ALLOWED}.`)];
  }
  if (value.startsWith(".") || value.startsWith("-")) {
    return [
      error(`${field} ${shown(value)} starts with '${value[0]}': start it with a letter, a digit or '_'.`),
    ];
  }
  if (value.includes(".."))
    return [error(`${field} ${shown(value)} holds '..': use at most one '.' in a row.`)];
  return [];
}

function describeCharacter(character: string): string {
  if (character === "/" || character === "\\") return `a '${character}' (a name is one path segment)`;
  if (character === " ") return "a space";
  // Control characters (NUL included) would be invisible, or worse, in the message itself.
  if (/\p{Cc}/u.test(character)) return `the control character ${JSON.stringify(character)}`;
  return `'${character}'`;
}

/** A name quoted for a message: escaped, and cut short when very long. */
function shown(value: string): string {
  const text = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(text).replace(/^"|"$/g, "'");
}

/** The three smart HTTP endpoints. */
export type GitEndpoint = "info/refs" | "git-upload-pack" | "git-receive-pack";

/** Which side of git's protocol a request speaks: fetch and clone, or push. */
export type GitService = "git-upload-pack" | "git-receive-pack";

export interface GitRequestPath extends RepositoryName {
  readonly gitPath: GitEndpoint;
  readonly service: GitService;
  /** The query string without `?` (`service=git-receive-pack`), "" when none. */
  readonly query: string;
}

const GIT_URL_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/**
 * Splits a request URL (`/owner/repo.git/info/refs?service=git-upload-pack`, with or without
 * `.git`) into its repository and endpoint; undefined for anything else, including `info/refs`
 * without a smart service (the "dumb" protocol, which Conveyor does not serve). The names are not
 * checked here: give them to `checkRepositoryName`.
 */
export function parseGitPath(url: string): GitRequestPath | undefined {
  const mark = url.indexOf("?");
  const path = mark === -1 ? url : url.slice(0, mark);
  const query = mark === -1 ? "" : url.slice(mark + 1);
  const match = GIT_URL_PATH.exec(path);
  if (!match) return undefined;
  const [, owner = "", name = "", endpoint = ""] = match;
  const gitPath = endpoint as GitEndpoint;
  const service = gitPath === "info/refs" ? new URLSearchParams(query).get("service") : gitPath;
  if (service !== "git-upload-pack" && service !== "git-receive-pack") return undefined;
  return { owner, name, gitPath, service, query };
}
