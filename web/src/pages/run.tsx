/**
 * A run: the job graph from `needs` (matrix jobs grouped, live status colours, each job linked to
 * its log), the trigger, durations, annotations with file:line, step summaries, artifacts, and
 * cancel / re-run buttons. Earlier attempts stay viewable (?attempt=N).
 */
import { useMemo, useState } from "react";
import { download, request } from "../api";
import type { AnnotationView, Artifact, GraphJob, Job, RunDetail, SummaryView } from "../api";
import { ErrorBox, Loading, Section, StatusMark, StatusOf, useLoad } from "../components";
import { ReviewBox } from "./approvals";
import type { PendingDeployment } from "./approvals";
import { ago, between, shortSha, size, stateOf } from "../format";
import { layoutGraph } from "../graph-layout";
import { Markdown } from "../markdown";
import { Link, navigate, repoPath } from "../router";

/** Job keys are `<id>#<n>` (or `<caller>#<n>/<id>#<n>` inside a called workflow): the node is the top id. */
export function topLevelJobId(key: string): string {
  return /^[^#/]+/.exec(key)?.[0] ?? key;
}

/** A group's state: failed if any failed, running if any runs, else the common result. */
export function groupState(jobs: readonly Job[]): string {
  if (jobs.length === 0) return "waiting";
  const states = jobs.map(stateOf);
  for (const state of ["failure", "in_progress", "queued", "cancelled"])
    if (states.includes(state)) return state;
  return states.every((s) => s === "skipped") ? "skipped" : "success";
}

const NODE_WIDTH = 230;
const HEAD_HEIGHT = 38;
const ROW_HEIGHT = 28;
const MAX_ROWS = 8;

function JobGraph(props: { graph: readonly GraphJob[]; jobs: readonly Job[] }) {
  const [opened, setOpened] = useState<ReadonlySet<string>>(new Set());
  const grouped = useMemo(() => {
    const byTop = new Map<string, Job[]>();
    for (const job of props.jobs) {
      const top = topLevelJobId(job.key);
      const list = byTop.get(top) ?? [];
      list.push(job);
      byTop.set(top, list);
    }
    return byTop;
  }, [props.jobs]);
  const nodes = useMemo(
    () =>
      props.graph.map((g) => {
        const jobs = grouped.get(g.id) ?? [];
        const isGroup = jobs.length > 1 || (jobs.length === 1 && jobs[0]?.name !== g.name);
        const rows = isGroup
          ? opened.has(g.id)
            ? Math.min(jobs.length, MAX_ROWS) + (jobs.length > MAX_ROWS ? 1 : 0)
            : 0
          : 0;
        return { graphJob: g, jobs, isGroup, height: HEAD_HEIGHT + rows * ROW_HEIGHT };
      }),
    [props.graph, grouped, opened],
  );
  const placed = useMemo(
    () =>
      layoutGraph(
        nodes.map((n) => ({
          id: n.graphJob.id,
          needs: n.graphJob.needs,
          width: NODE_WIDTH,
          height: n.height,
        })),
      ),
    [nodes],
  );
  const byId = new Map(nodes.map((n) => [n.graphJob.id, n]));
  return (
    <div className="graph-scroll" data-testid="job-graph">
      <div className="graph" style={{ width: placed.width, height: placed.height }}>
        <svg className="graph-edges" width={placed.width} height={placed.height} aria-hidden="true">
          {placed.edges.map((e) => (
            <path key={`${e.from}->${e.to}`} d={e.path} />
          ))}
        </svg>
        {placed.nodes.map((p) => {
          const node = byId.get(p.id);
          if (!node) return null;
          const state = groupState(node.jobs);
          const single = !node.isGroup ? node.jobs[0] : undefined;
          const open = opened.has(p.id);
          return (
            <div
              key={p.id}
              className={`graph-node state-${state}`}
              style={{ left: p.x, top: p.y, width: p.width, height: p.height }}
              data-job={p.id}
              data-state={state}
            >
              <div className="graph-node-head">
                <StatusMark state={state} />
                {single ? (
                  <Link to={`/jobs/${single.id}`} className="graph-node-name">
                    {single.name}
                  </Link>
                ) : node.isGroup ? (
                  <button
                    type="button"
                    className="link graph-node-name"
                    aria-expanded={open}
                    onClick={() => {
                      const next = new Set(opened);
                      if (open) next.delete(p.id);
                      else next.add(p.id);
                      setOpened(next);
                    }}
                  >
                    {node.graphJob.name} <span className="muted small">({node.jobs.length})</span>
                  </button>
                ) : (
                  <span className="graph-node-name muted">{node.graphJob.name}</span>
                )}
                {single ? (
                  <span className="muted small">{between(single.startedAt, single.finishedAt)}</span>
                ) : null}
              </div>
              {open &&
                node.jobs.slice(0, MAX_ROWS).map((job) => (
                  <div key={job.id} className="graph-node-row">
                    <StatusOf item={job} />
                    <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                  </div>
                ))}
              {open && node.jobs.length > MAX_ROWS ? (
                <div className="graph-node-row muted small">+{node.jobs.length - MAX_ROWS} more below</div>
              ) : null}
            </div>
          );
        })}
      </div>
    </div>
  );
}

function JobTable(props: {
  jobs: readonly Job[];
  canRerun: boolean;
  onRerun: (job: Job) => void;
  busy: boolean;
}) {
  return (
    <div className="table-scroll">
      <table className="jobs-table">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Duration</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              <td>
                <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                {job.kept ? <span className="muted small"> (kept from the earlier attempt)</span> : null}
                {job.waitingReason ? <div className="muted small">{job.waitingReason}</div> : null}
                {job.reason && job.status === "completed" ? (
                  <div className="muted small">{job.reason}</div>
                ) : null}
              </td>
              <td>
                <StatusOf item={job} label />
              </td>
              <td>{between(job.startedAt, job.finishedAt)}</td>
              <td>
                {props.canRerun ? (
                  <button
                    type="button"
                    className="small"
                    disabled={props.busy}
                    onClick={() => props.onRerun(job)}
                    aria-label={`Re-run ${job.name}`}
                  >
                    Re-run
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Annotations a job made past the most the server keeps for one job. */
interface OmittedView {
  jobId: number;
  jobName: string;
  count: number;
}

function Annotations(props: { annotations: readonly AnnotationView[]; omitted: readonly OmittedView[] }) {
  if (props.annotations.length === 0 && props.omitted.length === 0) {
    return <p className="muted">No annotations.</p>;
  }
  return (
    <>
      {props.omitted.map((o) => (
        <p key={o.jobId} className="muted" data-testid="annotations-omitted">
          {o.jobName}: {o.count} more {o.count === 1 ? "annotation" : "annotations"} not listed; see{" "}
          <Link to={`/jobs/${o.jobId}`}>its log</Link>.
        </p>
      ))}
      <ul className="annotations" data-testid="annotations">
        {props.annotations.map((a) => (
          <li key={`${a.jobId}:${a.seq}`} className={`annotation annotation-${a.level}`}>
            <span className="annotation-level">{a.level}</span>
            <div>
              <Link to={`/jobs/${a.jobId}#seq-${a.seq}`} className="annotation-link">
                {a.title ? `${a.title}: ` : ""}
                {a.message}
              </Link>
              <div className="muted small">
                {a.jobName}
                {a.file ? (
                  <>
                    {" · "}
                    <code>
                      {a.file}
                      {a.line !== null ? `:${a.line}` : ""}
                      {a.column !== null ? `:${a.column}` : ""}
                    </code>
                  </>
                ) : null}
              </div>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

function Artifacts(props: { artifacts: readonly Artifact[] }) {
  const [error, setError] = useState<unknown>();
  if (props.artifacts.length === 0) return <p className="muted">No artifacts.</p>;
  return (
    <>
      <ErrorBox error={error} />
      <ul className="artifacts">
        {props.artifacts.map((a) => (
          <li key={a.id}>
            <span>{a.name}</span>
            <span className="muted small">{size(a.size)}</span>
            <button
              type="button"
              className="small"
              onClick={() => void download(`/api/v1/artifacts/${a.id}/zip`, `${a.name}.zip`).catch(setError)}
            >
              Download
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

interface RunData {
  run: RunDetail;
  graph: GraphJob[];
}

interface RunExtras {
  annotations: { annotations: AnnotationView[]; summaries: SummaryView[]; omitted: OmittedView[] };
  artifacts: Artifact[];
}

/** The run's deployments waiting for review, each with its approve / reject box. */
function PendingReviews(props: { runId: number; running: boolean }) {
  const { data, reload } = useLoad(
    `pending:${props.runId}:${props.running}`,
    () => request<{ pending: PendingDeployment[] }>(`/runs/${props.runId}/pending-deployments`),
    { everyMs: 3000, keepPolling: () => props.running },
  );
  if (!data || data.pending.length === 0) return null;
  return (
    <Section title="Waiting for review" id="reviews-heading">
      <div className="stack">
        {data.pending.map((d) => (
          <ReviewBox key={d.id} deployment={d} onReviewed={reload} />
        ))}
      </div>
    </Section>
  );
}

export function RunPage(props: { runId: number; attempt: string | null }) {
  const attemptQuery = props.attempt ? `?attempt=${encodeURIComponent(props.attempt)}` : "";
  const stillRunning = (run: RunDetail) =>
    run.status !== "completed" || run.jobs.some((j) => j.status !== "completed");
  // The run and its graph first: annotations and artifacts come on their own.
  const { data, error, reload } = useLoad<RunData>(
    `run:${props.runId}${attemptQuery}`,
    async () => {
      const [run, graph] = await Promise.all([
        request<RunDetail>(`/runs/${props.runId}${attemptQuery}`),
        request<{ jobs: GraphJob[] }>(`/runs/${props.runId}/graph`),
      ]);
      return { run, graph: graph.jobs };
    },
    { everyMs: 1500, keepPolling: (d) => stillRunning(d.run) },
  );
  const running = data ? stillRunning(data.run) : true;
  const phase = !data ? "waiting" : running ? "running" : "done";
  const extras = useLoad<RunExtras | undefined>(
    `extras:${props.runId}${attemptQuery}:${phase}:${data?.run.attempt ?? 0}`,
    async () => {
      if (phase === "waiting") return undefined;
      const [annotations, artifacts] = await Promise.all([
        request<RunExtras["annotations"]>(`/runs/${props.runId}/annotations${attemptQuery}`),
        request<{ artifacts: Artifact[] }>(`/runs/${props.runId}/artifacts`).catch(() => ({ artifacts: [] })),
      ]);
      return { annotations, artifacts: artifacts.artifacts };
    },
    { everyMs: 5000, keepPolling: () => phase === "running" },
  );
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>();

  const act = async (path: string, body: unknown, then?: (answer: { attempt?: number }) => void) => {
    setBusy(true);
    setActionError(undefined);
    try {
      const answer = await request<{ attempt?: number }>(path, { body });
      then?.(answer);
      reload();
    } catch (problem) {
      setActionError(problem);
    } finally {
      setBusy(false);
    }
  };
  const toLatest = () => navigate(`/runs/${props.runId}`);

  if (!data) return <main className="page">{error ? <ErrorBox error={error} /> : <Loading />}</main>;
  const { run } = data;
  const viewingLatest = run.viewedAttempt === run.attempt;
  const finished = run.status === "completed";
  const failedJobs = run.jobs.some((j) => j.conclusion === "failure" || j.conclusion === "cancelled");

  return (
    <main className="page">
      <ErrorBox error={error} />
      <div className="title-row">
        <h1>
          <StatusOf item={viewingLatest ? run : { status: "completed", conclusion: groupState(run.jobs) }} />{" "}
          <span data-testid="run-title">{run.title || run.workflow.name}</span>
        </h1>
        <div className="actions">
          {!finished && (
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => void act(`/runs/${run.id}/cancel`, {})}
            >
              Cancel run
            </button>
          )}
          {finished && (
            <>
              <button
                type="button"
                disabled={busy}
                onClick={() => void act(`/runs/${run.id}/rerun`, {}, toLatest)}
              >
                Re-run all jobs
              </button>
              {failedJobs && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => void act(`/runs/${run.id}/rerun`, { failedOnly: true }, toLatest)}
                >
                  Re-run failed jobs
                </button>
              )}
            </>
          )}
        </div>
      </div>
      <ErrorBox error={actionError} />
      <dl className="facts">
        <div>
          <dt>Workflow</dt>
          <dd>
            {run.workflow.name} #{run.runNumber} <span className="muted small">{run.workflow.path}</span>
          </dd>
        </div>
        <div>
          <dt>Repository</dt>
          <dd>{run.repository ? <Link to={repoPath(run.repository)}>{run.repository}</Link> : "gone"}</dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd data-testid="run-trigger">
            {run.event} by {run.actor} on {run.branch ?? run.ref} at <code>{shortSha(run.sha)}</code>
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{ago(run.startedAt ?? run.createdAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{between(run.startedAt, run.finishedAt)}</dd>
        </div>
        <div>
          <dt>Attempt</dt>
          <dd>
            <label>
              <span className="sr-only">Attempt</span>
              <select
                value={run.viewedAttempt}
                onChange={(e) =>
                  navigate(
                    Number(e.target.value) === run.attempt
                      ? `/runs/${run.id}`
                      : `/runs/${run.id}?attempt=${e.target.value}`,
                  )
                }
              >
                {Array.from({ length: run.attempt }, (_, i) => run.attempt - i).map((n) => (
                  <option key={n} value={n}>
                    #{n}
                    {n === run.attempt ? " (latest)" : ""}
                  </option>
                ))}
              </select>
            </label>
          </dd>
        </div>
      </dl>
      <PendingReviews runId={props.runId} running={running} />
      <Section title="Jobs" id="graph-heading">
        <JobGraph graph={data.graph} jobs={run.jobs} />
        <JobTable
          jobs={run.jobs}
          busy={busy}
          canRerun={finished && viewingLatest}
          onRerun={(job) => void act(`/jobs/${job.id}/rerun`, {}, toLatest)}
        />
      </Section>
      <Section title="Annotations" id="annotations-heading">
        {extras.data ? (
          <Annotations
            annotations={extras.data.annotations.annotations}
            omitted={extras.data.annotations.omitted}
          />
        ) : (
          <Loading />
        )}
      </Section>
      {extras.data && extras.data.annotations.summaries.length > 0 && (
        <Section title="Summaries" id="summaries-heading">
          {extras.data.annotations.summaries.map((s) => (
            <article key={`${s.jobId}:${s.step}`} className="summary" data-testid="step-summary">
              <h3 className="muted small">{s.jobName}</h3>
              <Markdown source={s.markdown} />
            </article>
          ))}
        </Section>
      )}
      <Section title="Artifacts" id="artifacts-heading">
        {extras.data ? (
          <Artifacts artifacts={extras.data.artifacts.filter((a) => a.attempt <= run.viewedAttempt)} />
        ) : (
          <Loading />
        )}
      </Section>
    </main>
  );
}
