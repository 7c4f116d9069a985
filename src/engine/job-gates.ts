/**
 * What may hold a job (or a run) back before it runs: its `environment` (whose protection rules must
 * pass) and its `concurrency` group (one running, one pending). Evaluated as GitHub does: the
 * workflow's `concurrency` when the run is created (github, inputs, vars), a job's `concurrency` and
 * `environment.name` when the job starts (also needs, matrix, strategy); `environment.url` after
 * the job. Pure: the server turns these values into waiting jobs.
 */
import type { MappingToken, TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import { isMapping } from "@actions/workflow-parser/templates/tokens/type-guards";
import { error, failed, ok } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";
import type { ExpressionContexts } from "../expressions/contexts.js";
import { evaluateString, evaluateTemplate } from "../expressions/template.js";
import type { TemplateOptions } from "../expressions/template.js";
import { locationOf, valueAt } from "../workflow/tokens.js";

/** A concurrency group and whether a newer member cancels the one running. */
export interface ConcurrencySetting {
  readonly group: string;
  readonly cancelInProgress: boolean;
}

/** The environment a job deploys to; `url` is the template evaluated once the job has run. */
export interface EnvironmentSetting {
  readonly name: string;
  readonly url?: TemplateToken;
}

/** Environment names are at most 255 characters and may not hold control characters (GitHub's limits). */
const MAX_ENVIRONMENT_NAME = 255;

/**
 * `concurrency:` as a string (the group) or `{ group, cancel-in-progress }`. Undefined when absent;
 * an empty group is an error, since it would put every run in one nameless group.
 */
export function evaluateConcurrency(
  token: TemplateToken | undefined,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<ConcurrencySetting | undefined> {
  if (!token) return ok(undefined);
  const where = locationOf(token, options.fileName);
  let groupToken: TemplateToken | undefined = token;
  let cancelToken: TemplateToken | undefined;
  if (isMapping(token)) {
    groupToken = valueAt(token, "group");
    cancelToken = valueAt(token, "cancel-in-progress");
    if (!groupToken) return failed([error("concurrency needs a `group`: name the group.", where)]);
  }
  const group = evaluateString(groupToken, contexts, options);
  if (!group.ok) return group;
  if (group.value.trim() === "") {
    return failed([
      error(
        "concurrency.group evaluated to an empty string: give the group a name (for example `${{ github.workflow }}-${{ github.ref }}`).",
        locationOf(groupToken, options.fileName) ?? where,
      ),
    ]);
  }
  let cancelInProgress = false;
  if (cancelToken) {
    const cancel = evaluateTemplate(cancelToken, contexts, options);
    if (!cancel.ok) return cancel;
    if (typeof cancel.value !== "boolean") {
      return failed([
        error(
          `concurrency.cancel-in-progress must be true or false, not ${JSON.stringify(cancel.value)}.`,
          locationOf(cancelToken, options.fileName) ?? where,
        ),
      ]);
    }
    cancelInProgress = cancel.value;
  }
  return ok({ group: group.value, cancelInProgress });
}

/**
 * `environment:` as a name or `{ name, url }`. Undefined when absent or when the name evaluates to
 * an empty string (GitHub then runs the job without an environment).
 */
export function evaluateEnvironment(
  token: TemplateToken | undefined,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<EnvironmentSetting | undefined> {
  if (!token) return ok(undefined);
  const where = locationOf(token, options.fileName);
  let nameToken: TemplateToken | undefined = token;
  let url: TemplateToken | undefined;
  if (isMapping(token)) {
    nameToken = valueAt(token, "name");
    url = valueAt(token, "url");
    if (!nameToken) return failed([error("environment needs a `name`: name the environment.", where)]);
  }
  const name = evaluateString(nameToken, contexts, options);
  if (!name.ok) return name;
  const trimmed = name.value.trim();
  if (trimmed === "") return ok(undefined);
  const problem = environmentNameProblem(trimmed);
  if (problem) return failed([error(problem, locationOf(nameToken, options.fileName) ?? where)]);
  return ok(url ? { name: trimmed, url } : { name: trimmed });
}

/** Why a name cannot be an environment's, or undefined when it can. */
export function environmentNameProblem(name: string): string | undefined {
  if (name.trim() === "") return "an environment name must not be empty.";
  if (name.length > MAX_ENVIRONMENT_NAME)
    return `the environment name '${name.slice(0, 40)}...' is longer than ${MAX_ENVIRONMENT_NAME} characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "an environment name must not hold control characters.";
  return undefined;
}

/**
 * `environment.url` once the job has run: a string, or undefined when there is none or it is not a
 * string. Evaluated over the job's contexts; a broken expression gives an error, not a url.
 */
export function evaluateEnvironmentUrl(
  url: TemplateToken | undefined,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<string | undefined> {
  if (!url) return ok(undefined);
  const value = evaluateString(url, contexts, options);
  if (!value.ok) return value;
  return ok(value.value === "" ? undefined : value.value);
}

/** The `url` template inside an `environment:` mapping, if any (read again after the job). */
export function environmentUrlToken(token: TemplateToken | undefined): TemplateToken | undefined {
  return token && isMapping(token) ? valueAt(token as MappingToken, "url") : undefined;
}
