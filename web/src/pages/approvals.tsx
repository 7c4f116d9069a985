/**
 * Deployments waiting for the signed-in user's review, across repositories: approve or reject each
 * with a comment (a rejection's comment shows in the failed job's log).
 */
import { useState } from "react";
import { request } from "../api";
import { ErrorBox, Loading, useLoad } from "../components";
import { ago } from "../format";
import { Link } from "../router";
import type { Deployment } from "./environments";

export interface PendingDeployment extends Deployment {
  repository: string | null;
  reviewers: string[];
  canApprove: boolean;
  whyNot: string | null;
}

/** The approve / reject box of one waiting deployment (the approvals page and the run page). */
export function ReviewBox(props: { deployment: PendingDeployment; onReviewed: () => void }) {
  const d = props.deployment;
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const review = async (verdict: "approve" | "reject") => {
    setBusy(true);
    setError(undefined);
    try {
      await request(`/runs/${d.runId}/${verdict}`, {
        body: { environment: d.environment, ...(comment.trim() ? { comment } : {}) },
      });
      props.onReviewed();
    } catch (problem) {
      setError(problem);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="review-box stack" data-testid={`review-${d.id}`}>
      <div>
        <strong>{d.environment}</strong> · {d.repository ?? "?"} ·{" "}
        <Link to={`/runs/${d.runId}?attempt=${d.attempt}`}>
          run {d.runId}
          {d.attempt > 1 ? ` (attempt ${d.attempt})` : ""}
        </Link>{" "}
        · {d.job} · <code>{d.sha.slice(0, 7)}</code> · started by {d.creator} {ago(d.createdAt)}
        {d.rollbackOf !== null ? <span className="muted"> · rollback to #{d.rollbackOf}</span> : null}
      </div>
      <ErrorBox error={error} />
      {d.canApprove ? (
        <>
          <label>
            Comment (optional)
            <textarea
              value={comment}
              onChange={(e) => setComment(e.target.value)}
              maxLength={2000}
              rows={2}
            />
          </label>
          <div>
            <button type="button" className="primary" disabled={busy} onClick={() => void review("approve")}>
              Approve and deploy
            </button>{" "}
            <button type="button" className="danger" disabled={busy} onClick={() => void review("reject")}>
              Reject
            </button>
          </div>
        </>
      ) : (
        <p className="muted">{d.whyNot}</p>
      )}
    </div>
  );
}

export function ApprovalsPage() {
  const { data, error, reload } = useLoad(
    "approvals",
    () => request<{ pending: PendingDeployment[] }>("/approvals"),
    { everyMs: 5000 },
  );
  return (
    <main className="page">
      <h1>Approvals</h1>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.pending.length === 0 ? (
        <p className="muted" data-testid="no-approvals">
          Nothing waits for your review.
        </p>
      ) : (
        <div className="stack">
          {data.pending.map((d) => (
            <ReviewBox key={d.id} deployment={d} onReviewed={reload} />
          ))}
        </div>
      )}
    </main>
  );
}
