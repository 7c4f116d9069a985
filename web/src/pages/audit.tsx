/** The audit log (administrators): who changed what, newest first, filtered by actor, action and target. */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import { ErrorBox, Loading, useLoad } from "../components";
import { ago } from "../format";

interface AuditEvent {
  id: number;
  actor: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
  createdAt: string;
}

interface Filter {
  actor: string;
  action: string;
  target: string;
}

function query(filter: Filter, before: number | undefined): string {
  const params = new URLSearchParams({ limit: "50" });
  if (filter.actor) params.set("actor", filter.actor);
  if (filter.action) params.set("action", filter.action);
  if (filter.target) params.set("target", filter.target);
  if (before !== undefined) params.set("before", String(before));
  return params.toString();
}

/** Details as plain text: values are shown as text, never as markup. */
function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}

export function AuditPage(props: { search: URLSearchParams }) {
  const initial: Filter = {
    actor: props.search.get("actor") ?? "",
    action: props.search.get("action") ?? "",
    target: props.search.get("target") ?? "",
  };
  const [draft, setDraft] = useState<Filter>(initial);
  const [filter, setFilter] = useState<Filter>(initial);
  const [before, setBefore] = useState<number | undefined>();
  const q = query(filter, before);
  const { data, error } = useLoad(`audit:${q}`, () =>
    request<{ events: AuditEvent[]; next: number | null }>(`/audit?${q}`),
  );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setBefore(undefined);
    setFilter(draft);
  };
  return (
    <main className="page">
      <h1>Audit log</h1>
      <form className="inline-form" onSubmit={apply} data-testid="audit-filter">
        <label>
          Actor
          <input value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        </label>
        <label>
          Action
          <input
            value={draft.action}
            placeholder="deployment.*"
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          />
        </label>
        <label>
          Target starts with
          <input
            value={draft.target}
            placeholder="repo:owner/name"
            onChange={(e) => setDraft({ ...draft, target: e.target.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.events.length === 0 ? (
        <p className="muted">No events match.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {data.events.map((e) => (
                <tr key={e.id}>
                  <td title={e.createdAt}>{ago(e.createdAt)}</td>
                  <td>{e.actor ?? <span className="muted">server</span>}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    <code>{e.target}</code>
                  </td>
                  <td className="small">{detailsText(e.details)}</td>
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
        {data?.next ? (
          <button type="button" onClick={() => setBefore(data.next ?? undefined)}>
            Older
          </button>
        ) : null}
      </div>
    </main>
  );
}
