/**
 * A job running on a server without a runner: the rows a push and a runner's claim would make, and
 * the ACTIONS_RUNTIME_TOKEN the runner would get. For tests that drive the artifact and cache
 * services with GitHub's clients directly.
 */
import type { JsonObject } from "../../src/json.js";
import type { ConveyorServer } from "../../src/server/server.js";

export interface RunningJob {
  readonly id: number;
  readonly token: string;
  /** Ends the job (its token stops working). */
  end(): Promise<void>;
}

export async function runningJob(
  server: ConveyorServer,
  repositoryId: number,
  ref: string,
  payload: JsonObject = {},
): Promise<RunningJob> {
  const run = await server.store.runs.create({
    repositoryId,
    workflowPath: ".github/workflows/ci.yml",
    workflowName: "CI",
    event: "push",
    ref,
    sha: "0".repeat(40),
    actor: "admin",
    title: "test",
    definition: JSON.stringify({ payload }),
  });
  const job = { runId: run.id, attempt: 1, key: "build#0", name: "build", labels: [], assignment: "{}" };
  await server.store.jobs.ensureQueued(job);
  const [claimed] = await server.store.jobs.claim(1, [], 1, 600);
  if (!claimed) throw new Error("no job to claim");
  return {
    id: claimed.id,
    token: server.context.runtimeTokens.issue({ jobId: claimed.id, runId: run.id, repositoryId }),
    end: async () => void (await server.store.jobs.finish(claimed.id, { conclusion: "success" })),
  };
}

/** A hosted repository's id. */
export async function repositoryIn(server: ConveyorServer, owner: string, name: string): Promise<number> {
  const repository = await server.store.repositories.create({
    owner,
    name,
    defaultBranch: "main",
    kind: "hosted",
  });
  if (!repository) throw new Error(`the repository ${owner}/${name} exists already`);
  return repository.id;
}
