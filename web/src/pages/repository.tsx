/**
 * A repository: its runs (filtered by workflow, branch, event, status and actor, paged), how to
 * clone and push, status badge snippets, and the "Run workflow" form for workflow_dispatch.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { request, runsQuery } from "../api";
import type { DispatchInput, Repository, Run, WorkflowView } from "../api";
import { CopyButton, ErrorBox, Loading, Section, useLoad } from "../components";
import { Link, navigate } from "../router";
import { RunList } from "./run-list";

const FILTERS = ["workflow", "branch", "event", "status", "actor"] as const;
const PAGE_SIZE = 25;

function RunFilters(props: { base: string; search: URLSearchParams; workflows: readonly WorkflowView[] }) {
  const set = (field: string, value: string) => {
    const next = new URLSearchParams(props.search);
    if (value) next.set(field, value);
    else next.delete(field);
    next.delete("before");
    next.delete("pages");
    const text = next.toString();
    navigate(`${props.base}${text ? `?${text}` : ""}`, { replace: true });
  };
  return (
    <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter runs">
      <label>
        Workflow
        <select value={props.search.get("workflow") ?? ""} onChange={(e) => set("workflow", e.target.value)}>
          <option value="">all</option>
          {props.workflows.map((w) => (
            <option key={w.path} value={w.name}>
              {w.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={props.search.get("status") ?? ""} onChange={(e) => set("status", e.target.value)}>
          <option value="">all</option>
          <option value="queued">queued</option>
          <option value="in_progress">in progress</option>
          <option value="completed">completed</option>
        </select>
      </label>
      <label>
        Event
        <select value={props.search.get("event") ?? ""} onChange={(e) => set("event", e.target.value)}>
          <option value="">all</option>
          {["push", "pull_request", "workflow_dispatch", "schedule", "workflow_run"].map((e) => (
            <option key={e} value={e}>
              {e}
            </option>
          ))}
        </select>
      </label>
      {(["branch", "actor"] as const).map((field) => (
        <label key={field}>
          {field === "branch" ? "Branch" : "Actor"}
          <input
            defaultValue={props.search.get(field) ?? ""}
            placeholder="any"
            onKeyDown={(e) => {
              if (e.key === "Enter") set(field, e.currentTarget.value.trim());
            }}
            onBlur={(e) => set(field, e.currentTarget.value.trim())}
          />
        </label>
      ))}
    </form>
  );
}

function InputField(props: {
  input: DispatchInput;
  value: string | boolean;
  onChange: (value: string | boolean) => void;
}) {
  const { input } = props;
  const id = `input-${input.name}`;
  const label = (
    <span>
      {input.name}
      {input.required ? " *" : ""}
      {input.description ? <span className="muted small"> — {input.description}</span> : null}
    </span>
  );
  if (input.type === "boolean") {
    return (
      <label className="checkbox" htmlFor={id}>
        <input
          id={id}
          name={input.name}
          type="checkbox"
          checked={props.value === true}
          onChange={(e) => props.onChange(e.target.checked)}
        />
        {label}
      </label>
    );
  }
  if (input.type === "choice") {
    return (
      <label htmlFor={id}>
        {label}
        <select
          id={id}
          name={input.name}
          value={String(props.value)}
          onChange={(e) => props.onChange(e.target.value)}
        >
          {input.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <label htmlFor={id}>
      {label}
      <input
        id={id}
        name={input.name}
        type={input.type === "number" ? "number" : "text"}
        step={input.type === "number" ? "any" : undefined}
        required={input.required}
        value={String(props.value)}
        placeholder={input.type === "environment" ? "environment name" : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}

export function initialInputValue(input: DispatchInput): string | boolean {
  if (input.type === "boolean") return input.default === true || input.default === "true";
  if (input.type === "choice")
    return input.default === null ? (input.options[0] ?? "") : String(input.default);
  return input.default === null ? "" : String(input.default);
}

function RunWorkflowForm(props: { repository: Repository; workflows: readonly WorkflowView[] }) {
  const dispatchable = props.workflows.filter((w) => w.dispatch);
  const [chosen, setChosen] = useState(dispatchable[0]?.path ?? "");
  const [ref, setRef] = useState(props.repository.defaultBranch);
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const workflow = dispatchable.find((w) => w.path === chosen);
  if (dispatchable.length === 0)
    return (
      <p className="muted">
        No workflow on {props.repository.defaultBranch} runs on <code>workflow_dispatch</code>.
      </p>
    );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!workflow?.dispatch) return;
    setBusy(true);
    setError(undefined);
    const inputs: Record<string, string | boolean | number> = {};
    for (const input of workflow.dispatch.inputs) {
      const value = values[input.name] ?? initialInputValue(input);
      if (input.type === "number" && value !== "") inputs[input.name] = Number(value);
      else if (value !== "" || input.type === "boolean") inputs[input.name] = value;
    }
    try {
      const started = await request<{ runs: Run[] }>(
        `/repos/${encodeURIComponent(props.repository.owner)}/${encodeURIComponent(props.repository.name)}/dispatches`,
        { body: { workflow: workflow.path, ref, inputs } },
      );
      const first = started.runs[0];
      if (first) navigate(`/runs/${first.id}`);
    } catch (problem) {
      setError(problem);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack" onSubmit={(event) => void submit(event)} aria-label="Run workflow">
      <label>
        Workflow
        <select
          name="workflow"
          value={chosen}
          onChange={(e) => {
            setChosen(e.target.value);
            setValues({});
          }}
        >
          {dispatchable.map((w) => (
            <option key={w.path} value={w.path}>
              {w.name} ({w.path})
            </option>
          ))}
        </select>
      </label>
      <label>
        Branch or tag
        <input name="ref" value={ref} onChange={(e) => setRef(e.target.value)} required />
      </label>
      {workflow?.dispatch?.inputs.map((input) => (
        <InputField
          key={`${workflow.path}:${input.name}`}
          input={input}
          value={values[input.name] ?? initialInputValue(input)}
          onChange={(value) => setValues({ ...values, [input.name]: value })}
        />
      ))}
      <ErrorBox error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Starting…" : "Run workflow"}
      </button>
    </form>
  );
}

function Instructions(props: { repository: Repository; workflows: readonly WorkflowView[] }) {
  const { repository } = props;
  const origin = new URL(repository.cloneUrl).origin;
  const push = `git remote add conveyor ${repository.cloneUrl}\ngit push conveyor ${repository.defaultBranch}`;
  return (
    <div className="stack">
      <div>
        <h3>Clone</h3>
        <div className="copy-row">
          <code data-testid="clone-url">{repository.cloneUrl}</code>
          <CopyButton text={repository.cloneUrl} />
        </div>
      </div>
      <div>
        <h3>Push an existing repository</h3>
        <pre className="snippet">{push}</pre>
        <p className="muted small">User: your login; password: an API token (see Tokens).</p>
      </div>
      {props.workflows.length > 0 && (
        <div>
          <h3>Status badges</h3>
          {props.workflows.map((w) => {
            const file = w.path.split("/").pop() ?? w.path;
            const url = `${origin}/api/v1/repos/${repository.owner}/${repository.name}/badges/${file}`;
            const markdown = `[![${w.name}](${url})](${origin}/repos/${repository.owner}/${repository.name})`;
            return (
              <div key={w.path} className="badge-row">
                <img src={url} alt={`${w.name} status`} />
                <code className="small">{markdown}</code>
                <CopyButton text={markdown} label="Copy Markdown" />
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

export function RepositoryPage(props: { owner: string; name: string; search: URLSearchParams }) {
  const base = `/repos/${encodeURIComponent(props.owner)}/${encodeURIComponent(props.name)}`;
  const before = props.search.get("before") ?? undefined;
  const filter: Record<string, string | undefined> = Object.fromEntries(
    FILTERS.map((f) => [f, props.search.get(f) ?? undefined]),
  );
  const repo = useLoad(`repo:${base}`, async () => {
    const repository = await request<Repository>(base);
    const workflows = await request<{ workflows: WorkflowView[] }>(`${base}/workflows`);
    return { repository, workflows: workflows.workflows };
  });
  const query = runsQuery({ ...filter, before, limit: PAGE_SIZE });
  const runs = useLoad(
    `runs:${base}${query}`,
    () => request<{ runs: Run[]; next: number | null }>(`${base}/runs${query}`),
    {
      everyMs: 3000,
    },
  );
  // The cursors of the pages before this one, to go back ("0": the first page).
  const previous = (props.search.get("pages") ?? "").split(",").filter(Boolean);
  const page = (cursor: string | undefined, pages: string[]) => {
    const next = new URLSearchParams(props.search);
    if (cursor) next.set("before", cursor);
    else next.delete("before");
    if (pages.length > 0) next.set("pages", pages.join(","));
    else next.delete("pages");
    navigate(`${base}?${next.toString()}`);
  };

  return (
    <main className="page">
      <ErrorBox error={repo.error} />
      <div className="title-row">
        <h1>
          {props.owner}/{props.name}
        </h1>
        <Link to={`${base}/settings`}>Settings</Link>
      </div>
      {!repo.data ? (
        <Loading />
      ) : (
        <div className="columns wide-left">
          <Section title="Runs" id="runs-heading">
            <RunFilters base={base} search={props.search} workflows={repo.data.workflows} />
            <ErrorBox error={runs.error} />
            {runs.data ? <RunList runs={runs.data.runs} empty="No runs match." /> : <Loading />}
            <div className="pager">
              <button
                type="button"
                disabled={!before}
                onClick={() => {
                  const last = previous[previous.length - 1];
                  page(last && last !== "0" ? last : undefined, previous.slice(0, -1));
                }}
              >
                ← Newer
              </button>
              <button
                type="button"
                disabled={!runs.data?.next}
                onClick={() => page(String(runs.data?.next), [...previous, before ?? "0"])}
              >
                Older →
              </button>
            </div>
          </Section>
          <div className="stack">
            <Section title="Run workflow" id="dispatch-heading">
              <RunWorkflowForm repository={repo.data.repository} workflows={repo.data.workflows} />
            </Section>
            <Section title="Clone and push" id="clone-heading">
              <Instructions repository={repo.data.repository} workflows={repo.data.workflows} />
            </Section>
          </div>
        </div>
      )}
    </main>
  );
}
