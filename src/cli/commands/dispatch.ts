/**
 * `conveyor dispatch WORKFLOW --repo owner/name [--ref R] [-i key=value ...]`: starts a
 * workflow_dispatch workflow. Inputs go as strings; the server types them against the workflow's
 * `inputs:` and says which one is wrong.
 */
import type { Command } from "commander";
import {
  addServerOptions,
  CommandFailure,
  connect,
  parseRepositoryName,
  runServerCommand,
  type ServerFlags,
} from "../api-client.js";

interface DispatchFlags extends ServerFlags {
  readonly repo?: string;
  readonly ref?: string;
  readonly input: readonly string[];
}

export function registerDispatch(program: Command): void {
  addServerOptions(
    program
      .command("dispatch")
      .argument("<workflow>", "the workflow's file name (ci.yml) or path (.github/workflows/ci.yml)")
      .option("--repo <owner/name>", "the repository (required)")
      .option("--ref <ref>", "the branch or tag to run at (default: the repository's default branch)")
      .option("-i, --input <key=value>", "a workflow input; repeat for more", collect, [])
      .description("start a workflow_dispatch workflow on a Conveyor server")
      .addHelpText(
        "after",
        `
Example:
  conveyor dispatch deploy.yml --repo admin/my-app --ref main -i environment=staging -i dry-run=true`,
      ),
  ).action(async (workflow: string, flags: DispatchFlags) => {
    process.exitCode = await runServerCommand("dispatch", async () => {
      if (flags.repo === undefined) {
        throw new CommandFailure(
          "--repo is required: name the repository as owner/name, e.g. --repo admin/my-app.",
          2,
        );
      }
      const repository = parseRepositoryName(flags.repo);
      const inputs = parseInputs(flags.input);
      const { runs } = await connect(flags).dispatch(repository, {
        workflow,
        ...(flags.ref !== undefined ? { ref: flags.ref } : {}),
        inputs,
      });
      for (const run of runs) {
        process.stdout.write(
          `Started run ${run.id}: ${run.workflow.name} #${run.runNumber} on ${run.branch ?? run.ref}\n` +
            `Follow it: conveyor logs --remote ${run.id} -f\n`,
        );
      }
    });
  });
}

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** `-i key=value` pairs as an object; the value may hold `=` itself. */
export function parseInputs(pairs: readonly string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    const key = equals > 0 ? pair.slice(0, equals).trim() : "";
    if (!key) {
      throw new CommandFailure(`--input '${pair}' must be key=value, such as -i environment=staging.`, 2);
    }
    if (Object.hasOwn(inputs, key)) {
      throw new CommandFailure(`--input ${key} is given twice: give each input once.`, 2);
    }
    inputs[key] = pair.slice(equals + 1);
  }
  return inputs;
}
