/**
 * `on: schedule`: every minute, the workflows on each repository's default branch whose cron fires
 * in that minute start a run, as GitHub schedules them (UTC unless the schedule names a time zone).
 * Each firing is recorded once in the store, so a restart or a second server process never starts
 * the same scheduled run twice.
 */
import type { JsonObject } from "../../json.js";
import { nextCronTime, parseCron } from "../../workflow/cron.js";
import { loadWorkflow } from "../../workflow/load.js";
import type { Workflow } from "../../workflow/model.js";
import { resolveRefAt } from "../git/bare-repositories.js";
import { readWorkflowFilesAt } from "../git/workflow-files.js";
import type { ServerContext } from "../server-context.js";

const MINUTE_MS = 60_000;

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  /** Parsed workflows by commit and path: the default branch rarely moves between minutes. */
  private readonly parsed = new Map<string, Workflow | undefined>();

  constructor(private readonly context: ServerContext) {}

  start(): void {
    const next = (): void => {
      const now = Date.now();
      const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
      this.timer = setTimeout(
        () => {
          void this.tick(new Date(minute + MINUTE_MS)).finally(next);
        },
        minute + MINUTE_MS - now,
      );
      this.timer.unref();
    };
    next();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Starts what fires at `minute` (its first millisecond). Returns the ids of the runs started. */
  async tick(minute: Date): Promise<number[]> {
    const started: number[] = [];
    for (const repository of await this.context.store.repositories.list()) {
      const path = this.context.repositoryPathOf(repository);
      const sha = path ? await resolveRefAt(path, repository.defaultBranch) : undefined;
      if (!path || !sha) continue;
      const files = await readWorkflowFilesAt(path, sha);
      for (const [workflowPath, text] of Object.entries(files)) {
        const workflow = await this.workflowAt(sha, workflowPath, text);
        for (const schedule of workflow?.on.schedule ?? []) {
          const cron = parseCron(schedule.cron, schedule.timezone ?? "UTC");
          if (
            !cron.ok ||
            nextCronTime(cron.value, new Date(minute.getTime() - 1))?.getTime() !== minute.getTime()
          )
            continue;
          const firing = `schedule:${repository.id}:${workflowPath}:${schedule.cron}:${minute.toISOString()}`;
          if (!(await this.context.store.repositories.recordDelivery(firing, repository.id, "schedule")))
            continue;
          const payload: JsonObject = {
            schedule: schedule.cron,
            repository: {
              full_name: repository.fullName,
              name: repository.name,
              owner: { login: repository.owner },
              default_branch: repository.defaultBranch,
            },
            sender: { login: repository.owner },
          };
          const result = await this.context.starter.start({
            repository,
            eventName: "schedule",
            payload,
            ref: `refs/heads/${repository.defaultBranch}`,
            sha,
            actor: repository.owner,
            workflowFiles: files,
            schedule: { workflowPath, cron: schedule.cron },
            serverUrl: this.context.publicUrl,
            cloneUrl: this.context.cloneUrlOf(repository),
          });
          started.push(...result.runs.map((r) => r.id));
        }
      }
    }
    return started;
  }

  private async workflowAt(sha: string, path: string, text: string): Promise<Workflow | undefined> {
    const key = `${sha}:${path}`;
    if (!this.parsed.has(key)) {
      const loaded = await loadWorkflow({ path, bytes: Buffer.from(text) });
      this.parsed.set(key, loaded.ok ? loaded.value : undefined);
      if (this.parsed.size > 1_000) this.parsed.delete(this.parsed.keys().next().value as string);
    }
    return this.parsed.get(key);
  }
}
