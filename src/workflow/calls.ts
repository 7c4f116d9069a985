/**
 * Reusable workflows: finds the workflows that jobs call (`jobs.<id>.uses`), recursively, and
 * checks each call against the called workflow's `on.workflow_call` interface.
 */
import { isString } from "@actions/workflow-parser/templates/tokens/type-guards";
import type { MappingToken, TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import { error, failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result } from "../diagnostic.js";
import type { CallJob, Workflow } from "./model.js";
import { locationOf } from "./tokens.js";

/** GitHub allows reusable workflows to nest ten levels deep (the top workflow plus nine calls). */
export const MAX_CALL_DEPTH = 10;

/** Loads the workflow a job calls; `ref` is exactly what the job's `uses:` says. */
export type CallResolver = (ref: string) => Promise<Result<Workflow>>;

/** A workflow with the workflows its jobs call, keyed by the calling job's id. */
export interface CallTree {
  readonly workflow: Workflow;
  readonly calls: ReadonlyMap<string, CallTree>;
}

export async function resolveCalls(workflow: Workflow, resolve: CallResolver): Promise<Result<CallTree>> {
  return resolveFrom(workflow, resolve, [workflow.path]);
}

async function resolveFrom(
  workflow: Workflow,
  resolve: CallResolver,
  chain: readonly string[],
): Promise<Result<CallTree>> {
  const errors: Diagnostic[] = [];
  const calls = new Map<string, CallTree>();
  for (const job of workflow.jobs) {
    if (job.kind !== "call") continue;
    const target = job.uses.startsWith("./") ? job.uses.slice(2) : job.uses;
    if (chain.includes(target)) {
      errors.push(
        error(
          `this call makes a loop of reusable workflows: ${[...chain, target].join(" -> ")}. A workflow cannot call itself, directly or through others.`,
          job.usesLocation,
        ),
      );
      continue;
    }
    if (chain.length >= MAX_CALL_DEPTH) {
      errors.push(
        error(
          `reusable workflows nest too deeply here (${[...chain, target].join(" -> ")}): at most ${MAX_CALL_DEPTH} levels are allowed.`,
          job.usesLocation,
        ),
      );
      continue;
    }
    const callee = await resolve(job.uses);
    if (!callee.ok) {
      // A problem with no place in the called file (it is missing, say) belongs at the call.
      errors.push(...callee.errors.map((e) => (e.location ? e : error(e.message, job.usesLocation))));
      continue;
    }
    const interfaceErrors = checkCallInterface(job, callee.value, workflow.fileName);
    if (interfaceErrors.length > 0) {
      errors.push(...interfaceErrors);
      continue;
    }
    const subtree = await resolveFrom(callee.value, resolve, [...chain, target]);
    if (subtree.ok) calls.set(job.id, subtree.value);
    else errors.push(...subtree.errors);
  }
  return errors.length > 0 ? failed(errors) : ok({ workflow, calls });
}

/** What GitHub checks when a run starts: the call matches the called workflow's interface. */
export function checkCallInterface(
  job: CallJob,
  callee: Workflow,
  fileName: (fileId: number | undefined) => string,
): Diagnostic[] {
  const definition = callee.on.workflow_call;
  if (!definition) {
    return [
      error(
        `${job.uses} cannot be called: it has no \`workflow_call\` trigger. Add \`on: workflow_call\` to ${callee.path}.`,
        job.usesLocation,
      ),
    ];
  }
  const errors: Diagnostic[] = [];
  const inputs = lowerCaseKeys(definition.inputs ?? {});
  const given = namesIn(job.with);
  for (const [name, token] of given) {
    if (!inputs.has(name.toLowerCase())) {
      const known = [...inputs.values()].map((n) => n.name);
      errors.push(
        error(
          `input '${name}' is not defined by ${job.uses}${known.length > 0 ? ` (its inputs: ${known.join(", ")})` : " (it defines no inputs)"}.`,
          locationOf(token, fileName),
        ),
      );
    }
  }
  const givenLower = new Set([...given.keys()].map((n) => n.toLowerCase()));
  for (const [lower, { name, config }] of inputs) {
    if (config.required === true && !givenLower.has(lower)) {
      errors.push(
        error(`input '${name}' is required by ${job.uses}: pass it under \`with:\`.`, job.usesLocation),
      );
    }
  }
  if (job.secrets !== "inherit") {
    const secrets = lowerCaseKeys(definition.secrets ?? {});
    const passed = namesIn(job.secrets);
    for (const [name, token] of passed) {
      if (!secrets.has(name.toLowerCase())) {
        const known = [...secrets.values()].map((n) => n.name);
        errors.push(
          error(
            `secret '${name}' is not defined by ${job.uses}${known.length > 0 ? ` (its secrets: ${known.join(", ")})` : " (it defines no secrets)"}.`,
            locationOf(token, fileName),
          ),
        );
      }
    }
    const passedLower = new Set([...passed.keys()].map((n) => n.toLowerCase()));
    for (const [lower, { name, config }] of secrets) {
      if (config?.required === true && !passedLower.has(lower)) {
        errors.push(
          error(
            `secret '${name}' is required by ${job.uses}: pass it under \`secrets:\`, or use \`secrets: inherit\`.`,
            job.usesLocation,
          ),
        );
      }
    }
  }
  return errors;
}

function lowerCaseKeys<T>(record: { readonly [name: string]: T }): Map<string, { name: string; config: T }> {
  return new Map(Object.entries(record).map(([name, config]) => [name.toLowerCase(), { name, config }]));
}

/** The keys written in a mapping, with their tokens for locations. */
function namesIn(mapping: MappingToken | undefined): Map<string, TemplateToken> {
  const result = new Map<string, TemplateToken>();
  for (const pair of mapping ?? []) if (isString(pair.key)) result.set(pair.key.value, pair.key);
  return result;
}
