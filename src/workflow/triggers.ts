/**
 * Which workflows an event starts, decided the way GitHub decides it, and the checks of `on:` that
 * GitHub makes when it reads a workflow file.
 *
 * An event starts a workflow when the workflow lists the event and every filter passes:
 * 1. activity `types`, matched as filter patterns against `payload.action`; without `types`,
 *    `pull_request` and `pull_request_target` run for opened, synchronize and reopened,
 *    `merge_group` for checks_requested, and every other event for all its types;
 * 2. the ref: `branches`/`branches-ignore` and `tags`/`tags-ignore` against the pushed ref, the
 *    pull request's base branch, the triggering run's head branch (`workflow_run`) or the merge
 *    group's base ref; a workflow that filters only branches does not run for tags and vice versa;
 * 3. `workflow_run.workflows` against the triggering workflow's name, ignoring case;
 * 4. `paths`/`paths-ignore` against the changed files of a push to a branch or of a pull request,
 *    when they are known: `paths` needs one included file, `paths-ignore` one file not ignored,
 *    and no changed files at all means no run.
 * An `-ignore` list is an ordered pattern list like the others: a value is ignored when the list
 * includes it. `schedule` matches by cron text; `workflow_dispatch` always runs; `workflow_call`
 * never runs from an event.
 */
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";
import type { Diagnostic, Severity } from "../diagnostic.js";
import { checkTimezone, parseCron } from "./cron.js";
import { type FilterMatcher, compileFilter, compilePattern } from "./filter-pattern.js";
import { type Locator, validateInputDefinitions } from "./inputs.js";

export interface TriggerEvent {
  /** GitHub's event name: `push`, `pull_request`, `schedule`, ... */
  readonly name: string;
  /** The webhook payload (`github.event`); a schedule event carries `{ schedule: "<cron>" }`. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Files the push or pull request changed; undefined when unknown, and then paths do not filter. */
  readonly changedFiles?: readonly string[];
}

/** Whether the event starts the workflow; when it does not, a short reason for people. */
export type TriggerMatch = { readonly runs: true } | { readonly runs: false; readonly reason: string };

/** Activity types GitHub uses when a workflow gives no `types`; other events run for all types. */
export const DEFAULT_ACTIVITY_TYPES: Readonly<Record<string, readonly string[]>> = {
  pull_request: ["opened", "synchronize", "reopened"],
  pull_request_target: ["opened", "synchronize", "reopened"],
  merge_group: ["checks_requested"],
};

const RUNS: TriggerMatch = { runs: true };

function skip(reason: string): TriggerMatch {
  return { runs: false, reason };
}

export function matchTrigger(events: EventsConfig, event: TriggerEvent): TriggerMatch {
  if (event.name === "workflow_call")
    return skip("workflow_call runs only when another workflow calls this one");
  const config: unknown = Object.hasOwn(events, event.name) ? events[event.name] : undefined;
  if (config === undefined) return skip(`the workflow does not run on ${event.name}`);
  if (event.name === "workflow_dispatch") return RUNS;
  if (event.name === "schedule") return matchSchedule(events.schedule ?? [], event.payload);
  const filters = asRecord(config);
  return (
    eventRule(event) ??
    matchTypes(event, filters) ??
    matchRef(event, filters) ??
    matchWorkflows(event, filters) ??
    matchPaths(event, filters) ??
    RUNS
  );
}

function matchSchedule(
  schedules: readonly { readonly cron: string }[],
  payload: Readonly<Record<string, unknown>>,
): TriggerMatch {
  const cron = payload.schedule;
  if (typeof cron !== "string")
    return skip("a schedule event needs payload.schedule, the cron expression that fired");
  if (schedules.some((schedule) => schedule.cron === cron)) return RUNS;
  return skip(
    `schedule '${cron}' is not one of the workflow's schedules (${schedules.map((s) => `'${s.cron}'`).join(", ")})`,
  );
}

/** GitHub's documented cases where an event starts no workflow whatever the filters say. */
function eventRule({ name, payload }: TriggerEvent): TriggerMatch | undefined {
  if (name === "push" && payload.deleted === true) {
    return skip("a push that deletes a branch or tag starts no push workflow (use the delete event)");
  }
  if (
    name === "release" &&
    asRecord(payload.release).draft === true &&
    ["created", "edited", "deleted"].includes(String(payload.action))
  ) {
    return skip(`GitHub does not run workflows when a draft release is ${String(payload.action)}`);
  }
  if (name === "deployment_status" && asRecord(payload.deployment_status).state === "inactive") {
    return skip("GitHub does not run workflows when a deployment status becomes inactive");
  }
  if (name === "pull_request" && asRecord(payload.pull_request).mergeable === false) {
    return skip("the pull request has a merge conflict, and pull_request workflows need its merge commit");
  }
  return undefined;
}

function matchTypes(
  event: TriggerEvent,
  filters: Readonly<Record<string, unknown>>,
): TriggerMatch | undefined {
  const written = stringList(filters.types);
  const defaults = Object.hasOwn(DEFAULT_ACTIVITY_TYPES, event.name)
    ? DEFAULT_ACTIVITY_TYPES[event.name]
    : undefined;
  const types = written && written.length > 0 ? written : defaults;
  if (!types || types.length === 0) return undefined;
  const action = typeof event.payload.action === "string" ? event.payload.action : "";
  const matcher = compileFilter(types);
  if (!matcher.ok) return invalid("types", matcher.errors);
  if (matcher.value.matches(action)) return undefined;
  const shown = action === "" ? "an event without activity type" : `activity type '${action}'`;
  const list = types.join(", ");
  return skip(
    written && written.length > 0
      ? `${shown} is not in types (${list})`
      : `${shown} is not one of ${event.name}'s default types (${list}); list it under types to run for it`,
  );
}

/** The ref an event is about, for branch and tag filters, and how to name it in reasons. */
interface AffectedRef {
  readonly ref: string;
  readonly what: string;
}

function affectedRef({ name, payload }: TriggerEvent): AffectedRef | undefined {
  switch (name) {
    case "push":
      return typeof payload.ref === "string" ? { ref: payload.ref, what: "" } : undefined;
    case "pull_request":
    case "pull_request_target": {
      const base = asRecord(asRecord(payload.pull_request).base).ref;
      return typeof base === "string" ? { ref: branchRef(base), what: "base " } : undefined;
    }
    case "workflow_run": {
      const head = asRecord(payload.workflow_run).head_branch;
      return typeof head === "string" ? { ref: branchRef(head), what: "the triggering run's " } : undefined;
    }
    case "merge_group": {
      const base = asRecord(payload.merge_group).base_ref;
      return typeof base === "string" ? { ref: base, what: "base " } : undefined;
    }
    default:
      return undefined;
  }
}

function branchRef(branch: string): string {
  return branch.startsWith("refs/") ? branch : `refs/heads/${branch}`;
}

/** An include list (`branches`) or an ignore list (`branches-ignore`), whichever is written. */
interface FilterSpec {
  readonly key: string;
  readonly patterns: readonly string[];
  readonly include: boolean;
}

function filterSpec(filters: Readonly<Record<string, unknown>>, base: string): FilterSpec | undefined {
  const included = stringList(filters[base]);
  if (included) return { key: base, patterns: included, include: true };
  const ignored = stringList(filters[`${base}-ignore`]);
  if (ignored) return { key: `${base}-ignore`, patterns: ignored, include: false };
  return undefined;
}

function matchRef(event: TriggerEvent, filters: Readonly<Record<string, unknown>>): TriggerMatch | undefined {
  const affected = affectedRef(event);
  if (!affected) return undefined;
  const branches = filterSpec(filters, "branches");
  const tags = filterSpec(filters, "tags");
  if (!branches && !tags) return undefined;
  const isTag = affected.ref.startsWith("refs/tags/");
  const kind = isTag ? "tag" : "branch";
  const spec = isTag ? tags : branches;
  if (!spec) {
    return skip(`the workflow filters only ${isTag ? "branches" : "tags"}, so a ${kind} does not start it`);
  }
  const name = affected.ref.replace(/^refs\/(?:heads|tags)\//u, "");
  const verdict = judge(spec, [name], `${affected.what}${kind} '${name}'`);
  if (verdict) return verdict;
  if (event.name === "workflow_run" && spec.include && isForkRun(event.payload)) {
    return skip("the triggering run comes from a fork, and a branches filter never matches a fork's branch");
  }
  return undefined;
}

/** GitHub refuses `workflow_run` branch matches for runs whose head repository is another one. */
function isForkRun(payload: Readonly<Record<string, unknown>>): boolean {
  const run = asRecord(payload.workflow_run);
  const repository = asRecord(run.repository).id;
  const head = asRecord(run.head_repository).id;
  return typeof repository === "number" && typeof head === "number" && repository !== head;
}

function matchWorkflows(
  event: TriggerEvent,
  filters: Readonly<Record<string, unknown>>,
): TriggerMatch | undefined {
  if (event.name !== "workflow_run") return undefined;
  const name = asRecord(event.payload.workflow_run).name ?? asRecord(event.payload.workflow).name;
  // GitHub skips this filter for an event that names no workflow.
  if (typeof name !== "string" || name === "") return undefined;
  const workflows = stringList(filters.workflows) ?? [];
  if (workflows.length === 0) return skip("on.workflow_run lists no workflows");
  // GitHub lowercases both sides, so names match whatever their case.
  const matcher = compileFilter(workflows.map((w) => w.toLowerCase()));
  if (!matcher.ok) return invalid("workflows", matcher.errors);
  if (matcher.value.matches(name.toLowerCase())) return undefined;
  return skip(`the triggering workflow '${name}' is not in workflows (${workflows.join(", ")})`);
}

const PATH_FILTERED_EVENTS = new Set(["push", "pull_request", "pull_request_target"]);

function matchPaths(
  event: TriggerEvent,
  filters: Readonly<Record<string, unknown>>,
): TriggerMatch | undefined {
  if (!PATH_FILTERED_EVENTS.has(event.name) || event.changedFiles === undefined) return undefined;
  if (affectedRef(event)?.ref.startsWith("refs/tags/")) return undefined;
  const spec = filterSpec(filters, "paths");
  if (!spec || spec.patterns.length === 0) return undefined;
  const files = event.changedFiles;
  if (files.length === 0) return skip(`no files changed, and the workflow filters ${spec.key}`);
  const subject = files.length === 1 ? `the changed file '${files[0]}'` : `the ${files.length} changed files`;
  return judge(spec, files, subject);
}

/**
 * GitHub's verdict for a list of values: an include list passes when it includes one value, an
 * ignore list when one value is not ignored. An empty list passes. Undefined means it passes.
 */
function judge(spec: FilterSpec, values: readonly string[], subject: string): TriggerMatch | undefined {
  if (spec.patterns.length === 0) return undefined;
  const compiled = compileFilter(spec.patterns);
  if (!compiled.ok) return invalid(spec.key, compiled.errors);
  const matcher = compiled.value;
  const passes = values.some((value) => matcher.matches(value) === spec.include);
  if (passes) return undefined;
  return skip(explain(spec, matcher, values, subject));
}

function explain(
  spec: FilterSpec,
  matcher: FilterMatcher,
  values: readonly string[],
  subject: string,
): string {
  const list = `${spec.key} (${spec.patterns.join(", ")})`;
  if (values.length > 1) {
    return spec.include ? `none of ${subject} matches ${list}` : `${subject} are all ignored by ${list}`;
  }
  const decider = matcher.decidingPattern(values[0] ?? "");
  if (!spec.include) return `${subject} is ignored by '${decider?.source ?? ""}' in ${spec.key}`;
  return decider
    ? `${subject} is excluded by '${decider.source}' in ${spec.key}`
    : `${subject} does not match ${list}`;
}

function invalid(key: string, errors: readonly Diagnostic[]): TriggerMatch {
  return skip(`${key}: ${errors.map((e) => e.message).join("; ")}`);
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function stringList(value: unknown): readonly string[] | undefined {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return undefined;
  return value.filter((item): item is string => typeof item === "string");
}

export interface ValidateEventsOptions {
  /** Locates a path relative to the `on:` mapping, such as `["push", "branches", 0]`. */
  readonly locate?: Locator;
  /** The workflow's name (`name:` or its path), to catch a `workflow_run` that follows itself. */
  readonly workflowName?: string;
}

const PATTERN_KEYS = ["branches", "branches-ignore", "tags", "tags-ignore", "paths", "paths-ignore"];
/** GitHub reads these patterns only when an event arrives, and then fails the run. */
const LATE_PATTERN_KEYS = ["types", "workflows"];

/**
 * What GitHub reports about `on:` beyond the parser's schema: both a filter and its `-ignore`
 * twin, invalid filter patterns, cron expressions (with the field and value at fault), unknown
 * time zones, a `workflow_run` without workflows or following itself, and input definitions.
 * Warnings: lists of only `!` patterns (they match nothing), and invalid `types`/`workflows`
 * patterns, which GitHub accepts in the file but which fail every run the event would start.
 */
export function validateEvents(events: EventsConfig, options: ValidateEventsOptions = {}): Diagnostic[] {
  const locate: Locator = options.locate ?? (() => undefined);
  const diagnostics: Diagnostic[] = [];
  const report = (severity: Severity, path: readonly (string | number)[], message: string): void => {
    const location = locate(path);
    diagnostics.push(location ? { severity, message, location } : { severity, message });
  };

  for (const trigger of ["workflow_dispatch", "workflow_call"] as const) {
    const inputs = events[trigger]?.inputs;
    const within: Locator = (path) => locate([trigger, "inputs", ...path]);
    diagnostics.push(...validateInputDefinitions(trigger, inputs, within));
  }
  validateSchedules(events.schedule ?? [], report);
  for (const [eventName, config] of Object.entries(events)) {
    if (!["workflow_dispatch", "workflow_call", "schedule"].includes(eventName)) {
      validateFilters(eventName, asRecord(config), report);
    }
  }
  validateWorkflowRun(events, options.workflowName, report);
  return diagnostics;
}

type Report = (severity: Severity, path: readonly (string | number)[], message: string) => void;

function validateSchedules(
  schedules: readonly { readonly cron: string; readonly timezone?: string }[],
  report: Report,
): void {
  for (const [index, schedule] of schedules.entries()) {
    const parsed = parseCron(schedule.cron);
    if (!parsed.ok) for (const e of parsed.errors) report("error", ["schedule", index, "cron"], e.message);
    const zoneProblem = schedule.timezone === undefined ? undefined : checkTimezone(schedule.timezone);
    if (zoneProblem) report("error", ["schedule", index, "timezone"], zoneProblem);
  }
}

function validateFilters(
  eventName: string,
  filters: Readonly<Record<string, unknown>>,
  report: Report,
): void {
  for (const base of ["branches", "tags", "paths"]) {
    if (filters[base] !== undefined && filters[`${base}-ignore`] !== undefined) {
      report(
        "error",
        [eventName, `${base}-ignore`],
        `you may only define one of \`${base}\` and \`${base}-ignore\` for a single event; use \`${base}\` with '!' patterns to exclude`,
      );
    }
  }
  for (const key of [...PATTERN_KEYS, ...LATE_PATTERN_KEYS]) {
    const patterns = stringList(filters[key]);
    if (!patterns) continue;
    const late = LATE_PATTERN_KEYS.includes(key);
    for (const [index, pattern] of patterns.entries()) {
      const compiled = compilePattern(pattern);
      if (compiled.ok) continue;
      for (const e of compiled.errors) {
        const consequence = late ? " (GitHub accepts the file but fails every run this event starts)" : "";
        report(
          late ? "warning" : "error",
          [eventName, key, index],
          `on.${eventName}.${key}: ${e.message}${consequence}`,
        );
      }
    }
    if (!late && patterns.length > 0 && patterns.every((p) => p.startsWith("!"))) {
      report("warning", [eventName, key], onlyNegations(eventName, key));
    }
  }
}

function onlyNegations(eventName: string, key: string): string {
  if (key.endsWith("-ignore")) {
    return `on.${eventName}.${key}: every pattern starts with '!', so the list ignores nothing`;
  }
  const things = key === "paths" ? "file" : key === "tags" ? "tag" : "branch";
  return `on.${eventName}.${key}: every pattern starts with '!', so no ${things} matches and the workflow never runs for it; put a positive pattern such as '**' first, or use ${key}-ignore`;
}

function validateWorkflowRun(events: EventsConfig, workflowName: string | undefined, report: Report): void {
  if (events.workflow_run === undefined) return;
  const workflows = stringList(asRecord(events.workflow_run).workflows) ?? [];
  if (workflows.length === 0) {
    report(
      "error",
      ["workflow_run"],
      "`on.workflow_run` does not reference any workflows: list them under `workflows`",
    );
    return;
  }
  if (workflowName === undefined) return;
  for (const [index, followed] of workflows.entries()) {
    if (followed.toLowerCase() === workflowName.toLowerCase()) {
      report(
        "error",
        ["workflow_run", "workflows", index],
        `Workflow '${workflowName}' cannot listen to itself`,
      );
    }
  }
}
