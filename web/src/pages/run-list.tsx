/** A list of runs, as the home and repository pages show them. */
import type { Run } from "../api";
import { StatusOf } from "../components";
import { ago, between, shortSha } from "../format";
import { Link, repoPath } from "../router";

export function RunList(props: { runs: readonly Run[]; showRepository?: boolean; empty?: string }) {
  if (props.runs.length === 0) return <p className="muted">{props.empty ?? "No runs yet."}</p>;
  return (
    <ul className="run-list" data-testid="run-list">
      {props.runs.map((run) => (
        <li
          key={run.id}
          className="run-row"
          data-run-id={run.id}
          data-state={run.status === "completed" ? run.conclusion : run.status}
        >
          <StatusOf item={run} />
          <div className="run-main">
            <Link to={`/runs/${run.id}`} className="run-title">
              {run.title || run.workflow.name}
            </Link>
            <div className="muted small">
              {props.showRepository && run.repository ? (
                <>
                  <Link to={repoPath(run.repository)}>{run.repository}</Link> ·{" "}
                </>
              ) : null}
              {run.workflow.name} #{run.runNumber}
              {run.attempt > 1 ? ` (attempt ${run.attempt})` : ""} · {run.event} · {run.branch ?? run.ref} ·{" "}
              <code>{shortSha(run.sha)}</code> · {run.actor}
            </div>
          </div>
          <div className="run-times muted small">
            <span>{ago(run.createdAt)}</span>
            <span>{between(run.startedAt, run.finishedAt)}</span>
          </div>
        </li>
      ))}
    </ul>
  );
}
