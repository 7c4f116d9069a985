/**
 * GitHub's workflow schema, restored from a snapshot instead of being rebuilt from its JSON.
 *
 * `@actions/workflow-parser` builds its schema on first use by reading its 80 kB JSON file through
 * its own template reader and validating it against the schema of schemas: about a third of the
 * time a whole `conveyor validate` takes. The result is plain data in a handful of classes, so the
 * snapshot keeps that data with each object's class name and restores the same objects (same
 * classes, same fields) in a few milliseconds. `schema-snapshot.test.ts` checks that the snapshot
 * equals what the installed parser builds, and regenerates it after an upgrade.
 */
import { BooleanDefinition } from "@actions/workflow-parser/templates/schema/boolean-definition";
import { MappingDefinition } from "@actions/workflow-parser/templates/schema/mapping-definition";
import { NullDefinition } from "@actions/workflow-parser/templates/schema/null-definition";
import { NumberDefinition } from "@actions/workflow-parser/templates/schema/number-definition";
import { OneOfDefinition } from "@actions/workflow-parser/templates/schema/one-of-definition";
import { PropertyDefinition } from "@actions/workflow-parser/templates/schema/property-definition";
import { SequenceDefinition } from "@actions/workflow-parser/templates/schema/sequence-definition";
import { StringDefinition } from "@actions/workflow-parser/templates/schema/string-definition";
import { TemplateSchema } from "@actions/workflow-parser/templates/schema/template-schema";
import { WORKFLOW_SCHEMA_SNAPSHOT } from "./schema-snapshot-data.js";

/** The classes a schema is made of, by the name the snapshot records. */
const DEFINITION_CLASSES = {
  NullDefinition,
  BooleanDefinition,
  NumberDefinition,
  StringDefinition,
  SequenceDefinition,
  MappingDefinition,
  OneOfDefinition,
} as const;

type DefinitionClassName = keyof typeof DEFINITION_CLASSES;

/** One definition in the snapshot: its class and its own fields (`properties` as plain data). */
interface DefinitionRecord {
  readonly class: DefinitionClassName;
  readonly fields: Record<string, unknown>;
  readonly properties?: Record<string, Record<string, unknown>>;
}

interface SchemaRecord {
  readonly version: string;
  readonly definitions: Record<string, DefinitionRecord>;
}

/** A schema's data with class names, as JSON: what `schema-snapshot-data.ts` holds. */
export function snapshotSchema(schema: TemplateSchema): string {
  const definitions: Record<string, DefinitionRecord> = {};
  for (const [key, definition] of Object.entries(schema.definitions)) {
    const className = definition.constructor.name.replace(/^_/, "");
    if (!(className in DEFINITION_CLASSES)) {
      throw new Error(`schema definition '${key}' is a ${className}, which the snapshot does not know`);
    }
    const { properties, ...fields } = definition as unknown as Record<string, unknown>;
    definitions[key] = {
      class: className as DefinitionClassName,
      fields,
      ...(properties === undefined
        ? {}
        : { properties: { ...(properties as Record<string, Record<string, unknown>>) } }),
    };
  }
  const record: SchemaRecord = { version: schema.version, definitions };
  return JSON.stringify(record);
}

/** Objects of `prototype`'s class with `fields` as their own fields, without running a constructor. */
function restore<T extends object>(prototype: T, fields: Record<string, unknown>): T {
  return Object.assign(Object.create(prototype) as T, fields);
}

/** The schema a snapshot describes, made of the parser's own classes. */
export function restoreSchema(snapshot: string): TemplateSchema {
  const record = JSON.parse(snapshot) as SchemaRecord;
  const definitions: TemplateSchema["definitions"] = {};
  for (const [key, entry] of Object.entries(record.definitions)) {
    let fields = entry.fields;
    if (entry.properties !== undefined) {
      const properties: Record<string, PropertyDefinition> = {};
      for (const [name, property] of Object.entries(entry.properties)) {
        properties[name] = restore(PropertyDefinition.prototype, property);
      }
      fields = { ...fields, properties };
    }
    definitions[key] = restore(DEFINITION_CLASSES[entry.class].prototype, fields);
  }
  return restore(TemplateSchema.prototype, { definitions, version: record.version });
}

let workflowSchema: TemplateSchema | undefined;

/** GitHub's workflow schema (the parser's `getWorkflowSchema()`), restored once per process. */
export function workflowSchemaFromSnapshot(): TemplateSchema {
  workflowSchema ??= restoreSchema(WORKFLOW_SCHEMA_SNAPSHOT);
  return workflowSchema;
}
