/** A repository's settings: its default branch, and the webhook its remote sends (for mirrors). */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import type { Repository } from "../api";
import { CopyButton, ErrorBox, Loading, Section, useLoad } from "../components";
import { Link } from "../router";

export function RepositorySettingsPage(props: { owner: string; name: string }) {
  const base = `/repos/${encodeURIComponent(props.owner)}/${encodeURIComponent(props.name)}`;
  const { data, error, reload } = useLoad(`settings:${base}`, () => request<Repository>(base));
  const [branch, setBranch] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  const [actionError, setActionError] = useState<unknown>();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setActionError(undefined);
    setSaved(false);
    try {
      await request(base, { method: "PATCH", body: { defaultBranch: branch ?? data?.defaultBranch } });
      setSaved(true);
      reload();
    } catch (problem) {
      setActionError(problem);
    }
  };

  if (!data) return <main className="page">{error ? <ErrorBox error={error} /> : <Loading />}</main>;
  const webhookUrl = `${new URL(data.cloneUrl).origin}/api/v1${base}/webhook`;
  return (
    <main className="page">
      <div className="title-row">
        <h1>Settings of {data.fullName}</h1>
        <span>
          <Link to={`${base}/environments`}>Environments</Link> ·{" "}
          <Link to={`${base}/secrets`}>Secrets and variables</Link> · <Link to={base}>← Runs</Link>
        </span>
      </div>
      <ErrorBox error={actionError} />
      <div className="columns">
        <Section title="Default branch" id="branch-heading">
          <form className="inline-form" onSubmit={(event) => void save(event)}>
            <label>
              Branch
              <input
                value={branch ?? data.defaultBranch}
                onChange={(e) => setBranch(e.target.value)}
                required
              />
            </label>
            <button type="submit" className="primary">
              Save
            </button>
            {saved ? <span role="status">Saved.</span> : null}
          </form>
          <p className="muted small">
            Runs on the default branch give the repository's status and its badges.
          </p>
        </Section>
        <Section title="Webhooks" id="webhooks-heading">
          {data.kind === "mirror" ? (
            <div className="stack">
              <p>
                This repository mirrors a remote one. Point the remote's push and pull request webhooks at:
              </p>
              <div className="copy-row">
                <code>{webhookUrl}</code>
                <CopyButton text={webhookUrl} />
              </div>
              <p className="muted small">
                Signed with the secret given when the mirror was created ({data.webhooks ? "set" : "not set"}
                ); it is never shown back.
              </p>
            </div>
          ) : (
            <p className="muted">A hosted repository starts runs when you push to it: no webhook needed.</p>
          )}
        </Section>
      </div>
    </main>
  );
}
