/** API tokens: create (the value is shown once), list, revoke. */
import { useState } from "react";
import type { FormEvent } from "react";
import { request } from "../api";
import type { TokenInfo } from "../api";
import { CopyButton, ErrorBox, Loading, Section, useLoad } from "../components";
import { ago } from "../format";

export function TokensPage() {
  const { data, error, reload } = useLoad("tokens", () => request<TokenInfo[]>("/user/tokens"));
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>();
  const [actionError, setActionError] = useState<unknown>();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setActionError(undefined);
    try {
      const answer = await request<TokenInfo & { token: string }>("/user/tokens", { body: { name } });
      setCreated({ name: answer.name, token: answer.token });
      setName("");
      reload();
    } catch (problem) {
      setActionError(problem);
    }
  };
  const revoke = async (token: TokenInfo) => {
    if (!confirm(`Revoke the token "${token.name}"? Whatever uses it stops working.`)) return;
    try {
      await request(`/user/tokens/${token.id}`, { method: "DELETE" });
      reload();
    } catch (problem) {
      setActionError(problem);
    }
  };
  const active = data?.filter((t) => !t.revokedAt) ?? [];

  return (
    <main className="page">
      <h1>API tokens</h1>
      <ErrorBox error={error ?? actionError} />
      <div className="columns">
        <Section title="Create a token" id="create-token-heading">
          <form className="inline-form" onSubmit={(event) => void create(event)}>
            <label>
              Name
              <input
                value={name}
                onChange={(e) => setName(e.target.value)}
                placeholder="laptop CLI"
                required
              />
            </label>
            <button type="submit" className="primary">
              Create
            </button>
          </form>
          {created && (
            <div className="new-token" data-testid="new-token" role="status">
              <p>
                The token <strong>{created.name}</strong>; copy it now, it is not shown again:
              </p>
              <div className="copy-row">
                <code>{created.token}</code>
                <CopyButton text={created.token} />
              </div>
              <button type="button" className="small" onClick={() => setCreated(undefined)}>
                Done
              </button>
            </div>
          )}
        </Section>
        <Section title="Your tokens" id="tokens-heading">
          {!data ? (
            <Loading />
          ) : active.length === 0 ? (
            <p className="muted">No active tokens.</p>
          ) : (
            <ul className="token-list" data-testid="token-list">
              {active.map((token) => (
                <li key={token.id}>
                  <div>
                    <strong>{token.name}</strong>
                    <div className="muted small">
                      created {ago(token.createdAt)} ·{" "}
                      {token.lastUsedAt ? `last used ${ago(token.lastUsedAt)}` : "never used"}
                    </div>
                  </div>
                  <button type="button" className="danger small" onClick={() => void revoke(token)}>
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </main>
  );
}
