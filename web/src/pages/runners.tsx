/** Runners: online or offline, labels, current jobs, last seen; a registration token and the command to add one. */
import { useState } from "react";
import { request } from "../api";
import type { Runner, User } from "../api";
import { CopyButton, ErrorBox, Loading, Section, useLoad } from "../components";
import { ago } from "../format";
import { Link } from "../router";

function AddRunner() {
  const [created, setCreated] = useState<{ token: string; command: string } | undefined>();
  const [error, setError] = useState<unknown>();
  return (
    <div className="stack">
      <p>
        A runner on another machine takes jobs from this server. Create a registration token, then run the
        command there.
      </p>
      <ErrorBox error={error} />
      {created ? (
        <div className="stack" data-testid="runner-command">
          <div className="copy-row">
            <pre className="snippet">{created.command}</pre>
            <CopyButton text={created.command} />
          </div>
          <p className="muted small">The token is shown once and registers one runner.</p>
        </div>
      ) : (
        <button
          type="button"
          className="primary"
          onClick={() => {
            request<{ token: string; command: string }>("/runners/registration-token", { body: {} }).then(
              setCreated,
              setError,
            );
          }}
        >
          Create registration token
        </button>
      )}
    </div>
  );
}

export function RunnersPage(props: { user: User | undefined }) {
  const { data, error } = useLoad("runners", () => request<Runner[]>("/runners"), { everyMs: 5000 });
  return (
    <main className="page">
      <h1>Runners</h1>
      <ErrorBox error={error} />
      <div className="columns wide-left">
        <Section title="Registered runners" id="runners-heading">
          {!data ? (
            <Loading />
          ) : data.length === 0 ? (
            <p className="muted">No runners yet.</p>
          ) : (
            <div className="table-scroll">
              <table className="runners-table" data-testid="runners">
                <thead>
                  <tr>
                    <th scope="col">Runner</th>
                    <th scope="col">State</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Current jobs</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((runner) => (
                    <tr key={runner.id}>
                      <td>
                        {runner.name}
                        <div className="muted small">
                          {runner.os}/{runner.arch} · {runner.capacity} at once
                        </div>
                      </td>
                      <td>
                        <span className={`pill ${runner.online ? "pill-online" : "pill-offline"}`}>
                          {runner.online ? "online" : "offline"}
                        </span>
                      </td>
                      <td>
                        {runner.labels.map((l) => (
                          <span key={l} className="label">
                            {l}
                          </span>
                        ))}
                      </td>
                      <td>
                        {runner.jobs.length === 0
                          ? "idle"
                          : runner.jobs.map((id) => (
                              <Link key={id} to={`/jobs/${id}`}>
                                job {id}{" "}
                              </Link>
                            ))}
                      </td>
                      <td>{ago(runner.lastSeenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Section>
        <Section title="Add a runner" id="add-runner-heading">
          {props.user?.admin ? (
            <AddRunner />
          ) : (
            <p className="muted">Only an administrator can add runners.</p>
          )}
        </Section>
      </div>
    </main>
  );
}
