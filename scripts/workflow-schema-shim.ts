// Stands in for @actions/workflow-parser's workflows/workflow-schema.js in the bundle (see
// scripts/build.mjs): the same function, answered from Conveyor's snapshot of the same schema.
export { workflowSchemaFromSnapshot as getWorkflowSchema } from "../src/workflow/schema-snapshot.js";
