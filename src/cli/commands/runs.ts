/**
 * `conveyor runs`: a server's runs, newest first, filtered the way the API filters them
 * (GET /runs, or /repos/:owner/:name/runs with --repo).
 */
import type { Command } from "commander";
import {
  addServerOptions,
  connect,
  parseRepositoryName,
  runServerCommand,
  type RunJson,
  type RunQuery,
  type ServerFlags,
} from "../api-client.js";
import { formatTable, styleFor, type Style } from "../style.js";
import { resultText } from "./logs.js";

interface RunsFlags extends ServerFlags, RunQuery {
  readonly repo?: string;
  readonly json: boolean;
}

/** Titles are commit subjects and can be long: the table keeps this much of them. */
const TITLE_WIDTH = 50;

export function registerRuns(program: Command): void {
  addServerOptions(
    program
      .command("runs")
      .description("list a Conveyor server's runs, newest first")
      .option("--repo <owner/name>", "only this repository's runs")
      .option("--workflow <workflow>", "only this workflow: its file path or its name")
      .option("--branch <branch>", "only runs on this branch")
      .option("--event <event>", "only runs started by this event (push, workflow_dispatch, ...)")
      .option("--status <status>", "only runs in this state: queued, in_progress or completed")
      .option("--actor <login>", "only runs this user started")
      .option("--limit <n>", "at most this many runs, 1 to 500", "20")
      .option("--json", "print the API's answer as JSON ({ runs, next })", false)
      .addHelpText(
        "after",
        `
Examples:
  conveyor runs                                 the newest runs of every repository
  conveyor runs --repo admin/my-app --branch main --status completed
  conveyor logs --remote 42 -f                  follow run 42's logs`,
      ),
  ).action(async (flags: RunsFlags) => {
    process.exitCode = await runServerCommand("runs", async () => {
      const repository = flags.repo !== undefined ? parseRepositoryName(flags.repo) : undefined;
      const query: RunQuery = {
        workflow: flags.workflow,
        branch: flags.branch,
        event: flags.event,
        status: flags.status,
        actor: flags.actor,
        limit: flags.limit,
      };
      const page = await connect(flags).runs(query, repository);
      if (flags.json) process.stdout.write(JSON.stringify(page, null, 2) + "\n");
      else if (page.runs.length === 0) process.stdout.write("no runs match\n");
      else process.stdout.write(formatRuns(page.runs, styleFor(process.stdout), Date.now()) + "\n");
    });
  });
}

/** Id, state, workflow, branch, event, actor, title, age: one run a row. */
export function formatRuns(runs: readonly RunJson[], style: Style, now: number): string {
  const header = ["Id", "Status", "Workflow", "Branch", "Event", "Actor", "Title", "Age"].map(style.bold);
  const rows = runs.map((run) => [
    String(run.id),
    runState(run, style),
    `${run.workflow.name} #${run.runNumber}${run.attempt > 1 ? ` (attempt ${run.attempt})` : ""}`,
    run.branch ?? run.ref,
    run.event,
    run.actor,
    shorten(run.title, TITLE_WIDTH),
    age(run.createdAt, now),
  ]);
  return formatTable([header, ...rows]);
}

export function runState(run: Pick<RunJson, "status" | "conclusion">, style: Style): string {
  if (run.status === "queued") return `${style.dim("○")} queued`;
  if (run.status === "in_progress") return `${style.yellow("●")} in progress`;
  return resultText(run.conclusion ?? undefined, style);
}

/** `12s`, `5m`, `3h`, `2d` ago. */
export function age(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

function shorten(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}
