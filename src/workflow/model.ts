/**
 * Conveyor's model of a loaded workflow. It keeps GitHub's template tokens wherever GitHub
 * evaluates a value later (at job start or just before a step), so evaluation happens at the
 * right moment with the right contexts and errors keep their file:line:col.
 */
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";
import type {
  BasicExpressionToken,
  MappingToken,
  ScalarToken,
  TemplateToken,
} from "@actions/workflow-parser/templates/tokens/index";
import type { Diagnostic, SourceLocation } from "../diagnostic.js";
import type { InputDefinitions } from "./inputs.js";

export type { EventsConfig };

/** `permissions:` as written: `read-all`, `write-all`, `{}` or a map of scope to level. */
export type Permissions = "read-all" | "write-all" | { readonly [scope: string]: "read" | "write" | "none" };

/** `defaults.run`: literal at workflow level, may hold expressions at job level. */
export interface RunDefaults {
  readonly shell?: TemplateToken;
  readonly workingDirectory?: TemplateToken;
}

export interface Workflow {
  /** Repository-relative path (`.github/workflows/ci.yml`), GitHub's `github.workflow_ref` path. */
  readonly path: string;
  /** `name:`, or the path when there is none, as GitHub shows it. */
  readonly name: string;
  readonly hasExplicitName: boolean;
  readonly runName?: TemplateToken;
  readonly on: EventsConfig;
  /** `on.workflow_dispatch.inputs`, with the `number` inputs GitHub's parser drops. */
  readonly dispatchInputs?: InputDefinitions;
  /** `on.workflow_call.inputs`, likewise. */
  readonly callInputs?: InputDefinitions;
  /** Where `on:` is written, for errors about triggers and inputs. */
  readonly onLocation: SourceLocation;
  readonly env?: TemplateToken;
  readonly defaults?: RunDefaults;
  readonly permissions?: Permissions;
  readonly concurrency?: TemplateToken;
  /** `on.workflow_call.outputs`: name to `{ description, value }`, evaluated over the `jobs` context. */
  readonly callOutputs?: MappingToken;
  readonly jobs: readonly JobDefinition[];
  /** Problems that do not stop the workflow from running (shown by `validate`). */
  readonly warnings: readonly Diagnostic[];
  /** Resolves a token's file id to the path shown in errors. */
  readonly fileName: (fileId: number | undefined) => string;
}

interface JobBase {
  readonly id: string;
  /** Where the job's key is written. */
  readonly location: SourceLocation;
  /** `name:`, which may be a template over matrix values. */
  readonly name?: ScalarToken;
  readonly needs: readonly string[];
  /** Where each entry of `needs` is written, parallel to `needs`. */
  readonly needsLocations: readonly SourceLocation[];
  /** The condition with GitHub's implicit `success() &&` already applied. */
  readonly if: BasicExpressionToken;
  readonly strategy?: TemplateToken;
  /** Where `strategy:` is written; matrix errors point here. */
  readonly strategyLocation?: SourceLocation;
  readonly outputs?: MappingToken;
  readonly concurrency?: TemplateToken;
  readonly permissions?: Permissions;
}

/** A job that runs steps on a runner. */
export interface StepsJob extends JobBase {
  readonly kind: "steps";
  readonly runsOn?: TemplateToken;
  readonly env?: MappingToken;
  readonly environment?: TemplateToken;
  readonly container?: TemplateToken;
  readonly services?: TemplateToken;
  readonly defaults?: RunDefaults;
  readonly timeoutMinutes?: TemplateToken;
  readonly continueOnError?: TemplateToken;
  readonly steps: readonly StepDefinition[];
}

/** A job that calls a reusable workflow (`jobs.<id>.uses`). */
export interface CallJob extends JobBase {
  readonly kind: "call";
  /** `./.github/workflows/build.yml` or `owner/repo/.github/workflows/build.yml@ref`. */
  readonly uses: string;
  readonly usesLocation: SourceLocation;
  readonly with?: MappingToken;
  /** `inherit`, an explicit mapping, or nothing passed. */
  readonly secrets: "inherit" | MappingToken | undefined;
}

export type JobDefinition = StepsJob | CallJob;

export interface StepDefinition {
  /** The user's `id:`, or the id GitHub generates (`__run`, `__actions_checkout`, ...). */
  readonly id: string;
  readonly hasExplicitId: boolean;
  readonly location: SourceLocation;
  readonly name?: ScalarToken;
  /** The condition with GitHub's implicit `success() &&` already applied. */
  readonly if: BasicExpressionToken;
  readonly run?: ScalarToken;
  readonly uses?: string;
  readonly with?: MappingToken;
  readonly env?: MappingToken;
  readonly shell?: TemplateToken;
  readonly workingDirectory?: TemplateToken;
  readonly timeoutMinutes?: TemplateToken;
  readonly continueOnError?: TemplateToken;
}
