/**
 * Secrets and variables of one scope: the organisation (`/secrets`), a repository or one of its
 * environments. A secret's value is write-only: the page sends it and never receives it back.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import { ErrorBox, Loading, Section, useLoad } from "../components";
import { ago } from "../format";
import { Link } from "../router";

interface Entry {
  name: string;
  updatedAt: string;
  value?: string;
}

/** `prefix` is the API path of the scope: "" (the organisation), `/repos/o/n` or `/repos/o/n/environments/e`. */
export function SecretsPage(props: { prefix: string; title: string; back?: { to: string; label: string } }) {
  const { prefix } = props;
  const secrets = useLoad(`secrets:${prefix}`, () =>
    request<{ scope: string; secrets: Entry[] }>(`${prefix}/secrets`),
  );
  const variables = useLoad(`variables:${prefix}`, () =>
    request<{ scope: string; variables: Entry[] }>(`${prefix}/variables`),
  );
  return (
    <main className="page">
      <div className="title-row">
        <h1>Secrets and variables of {props.title}</h1>
        {props.back ? <Link to={props.back.to}>← {props.back.label}</Link> : null}
      </div>
      <div className="columns">
        <Section title="Secrets" id="secrets-heading">
          <ErrorBox error={secrets.error} />
          <EntryList
            kind="secret"
            prefix={prefix}
            entries={secrets.data?.secrets}
            onChange={secrets.reload}
          />
          <EntryForm kind="secret" prefix={prefix} onSaved={secrets.reload} />
        </Section>
        <Section title="Variables" id="variables-heading">
          <ErrorBox error={variables.error} />
          <EntryList
            kind="variable"
            prefix={prefix}
            entries={variables.data?.variables}
            onChange={variables.reload}
          />
          <EntryForm kind="variable" prefix={prefix} onSaved={variables.reload} />
        </Section>
      </div>
    </main>
  );
}

function EntryList(props: {
  kind: "secret" | "variable";
  prefix: string;
  entries: Entry[] | undefined;
  onChange: () => void;
}) {
  const [error, setError] = useState<unknown>();
  if (!props.entries) return <Loading />;
  if (props.entries.length === 0) return <p className="muted">No {props.kind}s yet.</p>;
  const remove = async (name: string) => {
    setError(undefined);
    try {
      await request(`${props.prefix}/${props.kind}s/${encodeURIComponent(name)}`, { method: "DELETE" });
      props.onChange();
    } catch (problem) {
      setError(problem);
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      <table data-testid={`${props.kind}s`}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {props.kind === "variable" ? <th scope="col">Value</th> : null}
            <th scope="col">Updated</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((entry) => (
            <tr key={entry.name}>
              <td>
                <code>{entry.name}</code>
              </td>
              {props.kind === "variable" ? (
                <td>
                  <code>{entry.value}</code>
                </td>
              ) : null}
              <td>{ago(entry.updatedAt)}</td>
              <td>
                <button
                  type="button"
                  className="ghost"
                  aria-label={`Delete ${props.kind} ${entry.name}`}
                  onClick={() => void remove(entry.name)}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function EntryForm(props: { kind: "secret" | "variable"; prefix: string; onSaved: () => void }) {
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string | undefined>();
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    try {
      await request(`${props.prefix}/${props.kind}s/${encodeURIComponent(name.trim())}`, {
        method: "PUT",
        body: { value },
      });
      setSaved(name.trim().toUpperCase());
      setName("");
      // The value leaves the page's memory as soon as it is sent.
      setValue("");
      props.onSaved();
    } catch (problem) {
      setError(problem);
    }
  };
  return (
    <form className="stack" onSubmit={(event) => void save(event)} data-testid={`${props.kind}-form`}>
      <ErrorBox error={error} />
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required name={`${props.kind}-name`} />
      </label>
      <label>
        Value{props.kind === "secret" ? " (write-only: it is never shown again)" : ""}
        <textarea
          value={value}
          onChange={(e) => setValue(e.target.value)}
          rows={3}
          autoComplete="off"
          spellCheck={false}
          name={`${props.kind}-value`}
        />
      </label>
      <div>
        <button type="submit" className="primary">
          {props.kind === "secret" ? "Set secret" : "Set variable"}
        </button>{" "}
        {saved ? <span role="status">Saved {saved}.</span> : null}
      </div>
    </form>
  );
}
