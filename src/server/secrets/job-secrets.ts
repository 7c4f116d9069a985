/**
 * Which secrets a job gets, decided without touching values (pure). The run stores only names
 * and placeholders; the lease swaps the placeholders for values (src/server/secrets/secrets-service.ts).
 *
 * - Pull requests from forks get no secrets, as on GitHub (only the read-only job token);
 *   `pull_request_target` runs in the base repository's context and gets them.
 * - A job of the run's own workflow sees every organisation and repository secret; a job of a
 *   called workflow sees only what its caller passed (`secrets: inherit` or a mapping): the
 *   engine evaluates those mappings over placeholders, so they hold no values.
 * - A job with an `environment` also gets that environment's secrets, over the others.
 */
import { isJsonObject } from "../../json.js";
import type { JsonObject, JsonValue } from "../../json.js";

/** Events whose run comes from a pull request's head, which may be a fork's code. */
const PULL_REQUEST_EVENTS = new Set(["pull_request", "pull_request_review", "pull_request_review_comment"]);

/**
 * Whether the run's secrets are withheld: a pull request event whose head repository is another
 * repository than the base (or is gone: a deleted fork). `fromFork` is what the webhook said.
 */
export function secretsWithheld(
  eventName: string,
  payload: JsonObject,
  fromFork: boolean | undefined,
): boolean {
  if (!PULL_REQUEST_EVENTS.has(eventName)) return false;
  if (fromFork === true) return true;
  const pullRequest = payload.pull_request;
  if (!isJsonObject(pullRequest)) return false;
  const head = isJsonObject(pullRequest.head) ? pullRequest.head : undefined;
  const base = isJsonObject(pullRequest.base) ? pullRequest.base : undefined;
  if (!head || !base) return false;
  if (head.repo === null) return true;
  const headName = fullNameOf(head.repo);
  const baseName = fullNameOf(base.repo);
  return (
    headName !== undefined && baseName !== undefined && headName.toLowerCase() !== baseName.toLowerCase()
  );
}

function fullNameOf(repo: JsonValue | undefined): string | undefined {
  return isJsonObject(repo) && typeof repo.full_name === "string" ? repo.full_name : undefined;
}

/** What a run stores about its secrets: their names and the nonce of their placeholders. */
export interface RunSecretRefs {
  readonly nonce: string;
  readonly names: readonly string[];
}

const PLACEHOLDER = /\u27easecret:([0-9a-f]+):([A-Z0-9_]+)\u27eb/gu;

export function placeholderOf(nonce: string, name: string): string {
  return `\u27easecret:${nonce}:${name}\u27eb`;
}

/** The `secrets` context the engine evaluates with: each name bound to its placeholder. */
export function placeholderContext(refs: RunSecretRefs | undefined): JsonObject {
  const context: JsonObject = {};
  for (const name of refs?.names ?? []) context[name] = placeholderOf(refs?.nonce ?? "", name);
  return context;
}

/**
 * The value with this run's placeholders replaced by the secrets' values (a name without a value
 * becomes "", as a missing secret is on GitHub). Other runs' placeholders are left as they are.
 */
export function fillPlaceholders(
  text: string,
  nonce: string,
  values: Readonly<Record<string, string>>,
): string {
  return text.replace(PLACEHOLDER, (whole, runNonce: string, name: string) =>
    runNonce === nonce ? (values[name] ?? "") : whole,
  );
}

export interface JobSecretsInput {
  /** The engine's job key: `build#0` at the top, `deploy#0/ship#0` inside a called workflow. */
  readonly jobKey: string;
  /** The secrets context the engine gave the job (placeholders). */
  readonly assigned: JsonObject;
  readonly refs: RunSecretRefs | undefined;
  readonly withheld: boolean;
  /** Organisation and repository secrets, merged by precedence. */
  readonly runSecrets: Readonly<Record<string, string>>;
  /** The job's environment's secrets; empty without an environment. */
  readonly environmentSecrets: Readonly<Record<string, string>>;
}

/** The job's `secrets` context with values, before the job token is added. */
export function jobSecretsContext(input: JobSecretsInput): Record<string, string> {
  if (input.withheld) return {};
  const calledWorkflowJob = input.jobKey.includes("/");
  const result: Record<string, string> = {};
  if (calledWorkflowJob) {
    const nonce = input.refs?.nonce ?? "";
    for (const [name, value] of Object.entries(input.assigned)) {
      if (typeof value === "string") result[name] = fillPlaceholders(value, nonce, input.runSecrets);
    }
  } else {
    Object.assign(result, input.runSecrets);
  }
  Object.assign(result, input.environmentSecrets);
  return result;
}
