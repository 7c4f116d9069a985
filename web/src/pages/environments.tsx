/**
 * A repository's environments (what is live in each, their rules) and one environment's page: its
 * deployment history with a rollback button on earlier successful deployments, and its rules,
 * which the repository's owner or an administrator may change.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import { ErrorBox, Loading, Section, StatusMark, useLoad } from "../components";
import { ago } from "../format";
import { Link, navigate } from "../router";

export interface Deployment {
  id: number;
  environment: string;
  runId: number;
  attempt: number;
  jobId: number | null;
  job: string;
  ref: string;
  sha: string;
  creator: string;
  approver: string | null;
  comment: string | null;
  status: string;
  url: string | null;
  rollbackOf: number | null;
  reason: string | null;
  createdAt: string;
}

interface Environment {
  name: string;
  reviewers: string[];
  preventSelfReview: boolean;
  waitTimer: number;
  deploymentPolicy: { branches: string[]; tags: string[] } | null;
  live: Deployment | null;
}

function repositoryPath(owner: string, name: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

/** Only http(s) urls become links: a deployment's url comes from a workflow. */
function SafeUrl(props: { url: string | null; label?: string }) {
  if (!props.url) return null;
  return /^https?:\/\//i.test(props.url) ? (
    <a href={props.url} rel="noreferrer noopener" target="_blank" title={props.url} className="url">
      {props.label ?? props.url}
    </a>
  ) : (
    <code className="url">{props.url}</code>
  );
}

function rulesText(environment: Environment): string {
  const rules: string[] = [];
  if (environment.reviewers.length > 0) rules.push(`reviewers: ${environment.reviewers.join(", ")}`);
  if (environment.preventSelfReview) rules.push("no self-review");
  if (environment.waitTimer > 0) rules.push(`wait ${environment.waitTimer} min`);
  if (environment.deploymentPolicy) {
    const refs = [
      ...environment.deploymentPolicy.branches,
      ...environment.deploymentPolicy.tags.map((t) => `tag ${t}`),
    ];
    rules.push(`refs: ${refs.join(", ") || "none"}`);
  }
  return rules.join(" · ") || "none (continuous deployment)";
}

function LiveDeployment(props: { deployment: Deployment | null }) {
  const d = props.deployment;
  if (!d) return <span className="muted">nothing live yet</span>;
  return (
    <span>
      <Link to={`/runs/${d.runId}?attempt=${d.attempt}`}>#{d.id}</Link> <code>{d.sha.slice(0, 7)}</code> by{" "}
      {d.creator}
      {d.approver ? `, approved by ${d.approver}` : ""} · {ago(d.createdAt)} <SafeUrl url={d.url} />
    </span>
  );
}

export function EnvironmentsPage(props: { owner: string; name: string }) {
  const base = repositoryPath(props.owner, props.name);
  const { data, error } = useLoad(`environments:${base}`, () =>
    request<{ environments: Environment[] }>(`${base}/environments`),
  );
  return (
    <main className="page">
      <div className="title-row">
        <h1>
          Environments of {props.owner}/{props.name}
        </h1>
        <Link to={base}>← Runs</Link>
      </div>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.environments.length === 0 ? (
        <p className="muted">
          No environments yet: a job with <code>environment: name</code> creates one when it runs.
        </p>
      ) : (
        <div className="table-scroll">
          <table data-testid="environments">
            <thead>
              <tr>
                <th scope="col">Environment</th>
                <th scope="col">Live</th>
                <th scope="col">Rules</th>
              </tr>
            </thead>
            <tbody>
              {data.environments.map((environment) => (
                <tr key={environment.name}>
                  <td>
                    <Link to={`${base}/environments/${encodeURIComponent(environment.name)}`}>
                      {environment.name}
                    </Link>
                  </td>
                  <td>
                    <LiveDeployment deployment={environment.live} />
                  </td>
                  <td>{rulesText(environment)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

function RulesForm(props: { path: string; environment: Environment; onSaved: () => void }) {
  const { environment } = props;
  const [reviewers, setReviewers] = useState(environment.reviewers.join(", "));
  const [preventSelfReview, setPreventSelfReview] = useState(environment.preventSelfReview);
  const [waitTimer, setWaitTimer] = useState(String(environment.waitTimer));
  const [branches, setBranches] = useState(environment.deploymentPolicy?.branches.join(", ") ?? "");
  const [tags, setTags] = useState(environment.deploymentPolicy?.tags.join(", ") ?? "");
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const list = (text: string) =>
    text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      const policy = list(branches).length + list(tags).length > 0;
      await request(props.path, {
        method: "PUT",
        body: {
          reviewers: list(reviewers),
          preventSelfReview,
          waitTimer: Number(waitTimer),
          deploymentPolicy: policy ? { branches: list(branches), tags: list(tags) } : null,
        },
      });
      setSaved(true);
      props.onSaved();
    } catch (problem) {
      setError(problem);
    }
  };
  return (
    <form className="stack" onSubmit={(event) => void save(event)} data-testid="rules-form">
      <ErrorBox error={error} />
      <label>
        Required reviewers (logins, comma-separated; none: no approval needed)
        <input value={reviewers} onChange={(e) => setReviewers(e.target.value)} name="reviewers" />
      </label>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={preventSelfReview}
          onChange={(e) => setPreventSelfReview(e.target.checked)}
        />
        Prevent self-review: who started a deployment cannot approve it
      </label>
      <label>
        Wait timer (minutes)
        <input
          type="number"
          min={0}
          max={43200}
          value={waitTimer}
          onChange={(e) => setWaitTimer(e.target.value)}
        />
      </label>
      <label>
        Branches allowed to deploy (patterns, comma-separated; empty with no tags: any ref)
        <input value={branches} onChange={(e) => setBranches(e.target.value)} name="branches" />
      </label>
      <label>
        Tags allowed to deploy (patterns)
        <input value={tags} onChange={(e) => setTags(e.target.value)} name="tags" />
      </label>
      <div>
        <button type="submit" className="primary">
          Save rules
        </button>{" "}
        {saved ? <span role="status">Saved.</span> : null}
      </div>
    </form>
  );
}

export function EnvironmentPage(props: { owner: string; name: string; environment: string }) {
  const base = repositoryPath(props.owner, props.name);
  const path = `${base}/environments/${encodeURIComponent(props.environment)}`;
  const rules = useLoad(`environment:${path}`, () => request<Environment>(path));
  const [before, setBefore] = useState<number | undefined>();
  const history = useLoad(
    `history:${path}:${before ?? ""}`,
    () =>
      request<{ live: Deployment | null; deployments: Deployment[]; next: number | null }>(
        `${path}/deployments?limit=25${before === undefined ? "" : `&before=${before}`}`,
      ),
    { everyMs: 5000 },
  );
  const [confirming, setConfirming] = useState<Deployment | undefined>();
  const [actionError, setActionError] = useState<unknown>();

  const rollback = async (target: Deployment) => {
    setActionError(undefined);
    try {
      const started = await request<{ runId: number; attempt: number }>(`${path}/rollback`, {
        body: { to: target.id },
      });
      setConfirming(undefined);
      navigate(`/runs/${started.runId}?attempt=${started.attempt}`);
    } catch (problem) {
      setActionError(problem);
    }
  };

  return (
    <main className="page">
      <div className="title-row">
        <h1>{props.environment}</h1>
        <span>
          <Link to={`${base}/environments`}>← Environments</Link> ·{" "}
          <Link to={`${path}/secrets`}>Secrets and variables</Link>
        </span>
      </div>
      <ErrorBox error={rules.error ?? history.error} />
      <ErrorBox error={actionError} />
      <div className="columns wide-left">
        <Section title="Deployments" id="deployments-heading">
          <p data-testid="live">
            Live: <LiveDeployment deployment={history.data?.live ?? null} />
          </p>
          {!history.data ? (
            <Loading />
          ) : (
            <div className="table-scroll">
              <table data-testid="deployments">
                <thead>
                  <tr>
                    <th scope="col">Deployment</th>
                    <th scope="col">Status</th>
                    <th scope="col">Commit</th>
                    <th scope="col">Who</th>
                    <th scope="col">When</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {history.data.deployments.map((d) => (
                    <tr key={d.id} data-deployment={d.id}>
                      <td>
                        <Link to={`/runs/${d.runId}?attempt=${d.attempt}`}>#{d.id}</Link> {d.job}
                        {d.rollbackOf !== null ? (
                          <div className="muted small">rollback to #{d.rollbackOf}</div>
                        ) : null}
                        {d.url ? (
                          <div className="small">
                            <SafeUrl url={d.url} label="open ↗" />
                          </div>
                        ) : null}
                      </td>
                      <td>
                        <StatusMark state={d.status} label />
                        {d.reason ? <div className="muted small">{d.reason}</div> : null}
                      </td>
                      <td>
                        <code>{d.sha.slice(0, 7)}</code> {d.ref.replace(/^refs\/(heads|tags)\//, "")}
                      </td>
                      <td>
                        {d.creator}
                        {d.approver ? (
                          <div className="muted small">
                            reviewed by {d.approver}
                            {d.comment ? `: ${d.comment}` : ""}
                          </div>
                        ) : null}
                      </td>
                      <td>{ago(d.createdAt)}</td>
                      <td>
                        {d.status === "inactive" ? (
                          <button type="button" onClick={() => setConfirming(d)}>
                            Roll back to #{d.id}
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div className="pager">
            {before !== undefined ? (
              <button type="button" onClick={() => setBefore(undefined)}>
                Newest
              </button>
            ) : null}
            {history.data?.next ? (
              <button type="button" onClick={() => setBefore(history.data?.next ?? undefined)}>
                Older
              </button>
            ) : null}
          </div>
          {confirming ? (
            <div role="dialog" aria-modal="true" aria-labelledby="confirm-rollback" className="dialog">
              <h2 id="confirm-rollback">
                Roll {props.environment} back to #{confirming.id}?
              </h2>
              <p>
                Its job runs again with commit <code>{confirming.sha.slice(0, 7)}</code> and that run's
                artifacts, through {props.environment}'s rules (a reviewer may have to approve).
              </p>
              <button type="button" className="primary" autoFocus onClick={() => void rollback(confirming)}>
                Roll back
              </button>{" "}
              <button type="button" onClick={() => setConfirming(undefined)}>
                Cancel
              </button>
            </div>
          ) : null}
        </Section>
        <Section title="Rules" id="rules-heading">
          {rules.data ? (
            <RulesForm
              key={JSON.stringify(rules.data)}
              path={path}
              environment={rules.data}
              onSaved={rules.reload}
            />
          ) : (
            <Loading />
          )}
        </Section>
      </div>
    </main>
  );
}
