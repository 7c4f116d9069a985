import type { Command } from "commander";
import { formatDiagnostic } from "../../diagnostic.js";
import { analyseRepository } from "../../workflow/analyse.js";
import { countPlannedJobs } from "../../workflow/plan.js";
import { diagnosticsJson } from "../json-output.js";
import { addRepositoryOptions, repositoryOptions } from "../options.js";
import { styleFor } from "../style.js";

export function registerValidate(program: Command): void {
  addRepositoryOptions(
    program
      .command("validate")
      .argument("[paths...]", "workflow files or folders to check (default: the repository's workflows)")
      .description(
        "check workflows without running anything: schema, expressions, needs, matrices, reusable workflow calls",
      ),
  ).action(async (paths: string[], raw: Record<string, unknown>) => {
    const options = repositoryOptions(raw, paths);
    const analysis = await analyseRepository(options.directory, options.workflows);
    const valid = analysis.errors.length === 0;
    const jobs = analysis.plans.reduce((n, plan) => n + countPlannedJobs(plan), 0);
    if (options.json) {
      const invalidFiles = new Set(analysis.errors.map((e) => e.location?.file ?? e.file));
      process.stdout.write(
        JSON.stringify({
          valid,
          files: analysis.files.map((path) => ({ path, valid: !invalidFiles.has(path) })),
          jobs,
          errors: diagnosticsJson(analysis.errors),
          warnings: diagnosticsJson(analysis.warnings),
        }) + "\n",
      );
    } else {
      const out = styleFor(process.stdout);
      const err = styleFor(process.stderr);
      for (const e of analysis.errors) process.stderr.write(err.red(formatDiagnostic(e)) + "\n");
      for (const w of analysis.warnings) process.stderr.write(err.yellow(formatDiagnostic(w)) + "\n");
      if (valid) {
        const n = analysis.files.length;
        process.stdout.write(
          `${out.green("✓")} ${n} workflow${n === 1 ? "" : "s"} valid (${jobs} job${jobs === 1 ? "" : "s"} planned)\n`,
        );
      } else {
        const n = analysis.errors.length;
        process.stderr.write(`${err.red("✗")} ${n} error${n === 1 ? "" : "s"}\n`);
      }
    }
    process.exitCode = valid ? 0 : 1;
  });
}
