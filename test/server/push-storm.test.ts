/**
 * Issue 4's acceptance: 200 pushes arriving at once start exactly 200 runs, and SQLite never
 * answers "database is locked". 200 concurrent `git push` processes against a real `conveyor up`:
 * each push is a handful of git processes on either side, so this takes about a minute on two cores.
 */
import { afterAll, expect, it } from "vitest";
import { api, git, gitRepositoryWith, pushUrl, startServer } from "./helpers.js";
import type { StartedServer } from "./helpers.js";

let server: StartedServer | undefined;

afterAll(async () => {
  await server?.stop("SIGKILL");
});

it("starts exactly 200 runs for 200 pushes arriving at once, and the database is never locked", async () => {
  // Made before the server starts: it blocks this process.
  const project = gitRepositoryWith({
    ".github/workflows/many.yml":
      "name: Many\non: push\njobs:\n  wait:\n    runs-on: [self-hosted, nobody-has-this]\n    steps: [{ run: 'true' }]\n",
  });
  // No runner: the runs stay queued, so the server does nothing but take pushes.
  server = await startServer(["--runner-capacity", "0"]);
  expect((await api(server, "/repos", { body: { name: "many" } })).status).toBe(201);
  const remote = pushUrl(server, "admin", server.token, "admin/many");
  const branches = Array.from({ length: 200 }, (_, i) => `branch-${i}`);
  const pushes = await Promise.all(
    branches.map((branch) => git(project, ["push", remote, `main:refs/heads/${branch}`])),
  );
  for (const push of pushes) expect(push.status, push.stderr).toBe(0);

  const runs = await api<{ runs: { branch: string; status: string }[] }>(
    server,
    "/repos/admin/many/runs?limit=500",
  );
  expect(runs.body.runs).toHaveLength(200);
  expect(runs.body.runs.map((r) => r.branch).sort()).toEqual([...branches].sort());
  expect(runs.body.runs.every((r) => r.status === "queued")).toBe(true);
  const said = server.output() + pushes.map((p) => p.stderr).join("");
  expect(said).not.toMatch(/database is locked/i);
  expect(said).not.toMatch(/"level":50/); // nothing logged as an error
}, 240_000);
