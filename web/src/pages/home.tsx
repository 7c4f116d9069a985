/** Home: the repositories with their default branch's status and last run; runs across all of them, active first. */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import type { Repository, Run } from "../api";
import { ErrorBox, Loading, Section, StatusOf, useLoad } from "../components";
import { ago } from "../format";
import { Link, navigate, repoPath } from "../router";
import { RunList } from "./run-list";

interface RepositoryRow {
  readonly repository: Repository;
  readonly defaultBranchRun: Run | undefined;
  readonly lastRun: Run | undefined;
}

/** Queued and running first (oldest of those first: they wait longest), then the rest, newest first. */
export function activeFirst(runs: readonly Run[]): Run[] {
  const seen = new Set<number>();
  const unique = runs.filter((r) => !seen.has(r.id) && seen.add(r.id));
  const active = unique.filter((r) => r.status !== "completed").sort((a, b) => a.id - b.id);
  const done = unique.filter((r) => r.status === "completed").sort((a, b) => b.id - a.id);
  return [...active, ...done];
}

async function loadHome(): Promise<{ repositories: RepositoryRow[]; runs: Run[] }> {
  const [repositories, running, queued, recent] = await Promise.all([
    request<Repository[]>("/repos"),
    request<{ runs: Run[] }>("/runs?status=in_progress&limit=100"),
    request<{ runs: Run[] }>("/runs?status=queued&limit=100"),
    request<{ runs: Run[] }>("/runs?limit=30"),
  ]);
  const rows = await Promise.all(
    repositories.slice(0, 100).map(async (repository) => {
      const base = `/repos/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}/runs`;
      const [onDefault, last] = await Promise.all([
        request<{ runs: Run[] }>(`${base}?limit=1&branch=${encodeURIComponent(repository.defaultBranch)}`),
        request<{ runs: Run[] }>(`${base}?limit=1`),
      ]);
      return { repository, defaultBranchRun: onDefault.runs[0], lastRun: last.runs[0] };
    }),
  );
  return { repositories: rows, runs: activeFirst([...running.runs, ...queued.runs, ...recent.runs]) };
}

function CreateRepository() {
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const created = await request<Repository>("/repos", { body: { name } });
      navigate(repoPath(created.fullName));
    } catch (problem) {
      setError(problem);
    }
  };
  return (
    <form className="inline-form" onSubmit={(event) => void submit(event)}>
      <label>
        <span className="sr-only">New repository name</span>
        <input placeholder="new-repository" value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <button type="submit">Create repository</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function HomePage() {
  const { data, error } = useLoad("home", loadHome, { everyMs: 3000 });
  return (
    <main className="page">
      <h1>Home</h1>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : (
        <div className="columns">
          <Section title="Repositories" id="repositories-heading" actions={<CreateRepository />}>
            {data.repositories.length === 0 ? (
              <p className="muted">No repositories yet: create one, then push to it.</p>
            ) : (
              <ul className="repo-list" data-testid="repo-list">
                {data.repositories.map(({ repository, defaultBranchRun, lastRun }) => (
                  <li key={repository.id} className="repo-row">
                    {defaultBranchRun ? (
                      <StatusOf item={defaultBranchRun} />
                    ) : (
                      <span className="status status-none">–</span>
                    )}
                    <div>
                      <Link to={repoPath(repository.fullName)} className="repo-name">
                        {repository.fullName}
                      </Link>
                      <div className="muted small">
                        {repository.defaultBranch}
                        {lastRun ? (
                          <>
                            {" · last run "}
                            <Link to={`/runs/${lastRun.id}`}>
                              {lastRun.workflow.name} #{lastRun.runNumber}
                            </Link>{" "}
                            {ago(lastRun.createdAt)}
                          </>
                        ) : (
                          " · no runs yet"
                        )}
                      </div>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <Section title="Runs" id="runs-heading">
            <RunList runs={data.runs} showRepository />
          </Section>
        </div>
      )}
    </main>
  );
}
