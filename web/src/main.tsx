/** The dashboard's entry: the signed-in shell, the pages by path, and the theme. */
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { onSignedOut, request, signOut, storedToken } from "./api";
import type { User } from "./api";
import { ErrorBox, useLoad } from "./components";
import { Link, match, navigate, useLocation } from "./router";
import { ApprovalsPage } from "./pages/approvals";
import type { PendingDeployment } from "./pages/approvals";
import { AuditPage } from "./pages/audit";
import { EnvironmentPage, EnvironmentsPage } from "./pages/environments";
import { HomePage } from "./pages/home";
import { JobLogPage } from "./pages/job-log";
import { RepositoryPage } from "./pages/repository";
import { RepositorySettingsPage } from "./pages/repository-settings";
import { RunPage } from "./pages/run";
import { RunnersPage } from "./pages/runners";
import { SecretsPage } from "./pages/secrets";
import { SignInPage } from "./pages/sign-in";
import { TokensPage } from "./pages/tokens";
import "./styles.css";

type Theme = "light" | "dark" | "system";
const THEME_KEY = "conveyor.theme";

function applyTheme(theme: Theme): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(
    () => (localStorage.getItem(THEME_KEY) as Theme | null) ?? "system",
  );
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  const next: Theme = theme === "system" ? "dark" : theme === "dark" ? "light" : "system";
  return (
    <button
      type="button"
      className="ghost"
      onClick={() => setTheme(next)}
      aria-label={`Theme: ${theme}. Switch to ${next}`}
    >
      {theme === "dark" ? "☾ Dark" : theme === "light" ? "☀ Light" : "◑ Auto"}
    </button>
  );
}

function Page(props: { user: User | undefined }) {
  const { path, search, hash } = useLocation();
  let params: Record<string, string> | undefined;
  if (match("/", path)) return <HomePage />;
  if ((params = match("/repos/:owner/:name/environments/:env/secrets", path))) {
    const repo = `/repos/${encodeURIComponent(params.owner as string)}/${encodeURIComponent(params.name as string)}`;
    const env = `${repo}/environments/${encodeURIComponent(params.env as string)}`;
    return (
      <SecretsPage
        prefix={env}
        title={`${params.owner}/${params.name}, environment ${params.env}`}
        back={{ to: env, label: params.env as string }}
      />
    );
  }
  if ((params = match("/repos/:owner/:name/environments/:env", path)))
    return (
      <EnvironmentPage
        owner={params.owner as string}
        name={params.name as string}
        environment={params.env as string}
      />
    );
  if ((params = match("/repos/:owner/:name/environments", path)))
    return <EnvironmentsPage owner={params.owner as string} name={params.name as string} />;
  if ((params = match("/repos/:owner/:name/secrets", path))) {
    const repo = `/repos/${encodeURIComponent(params.owner as string)}/${encodeURIComponent(params.name as string)}`;
    return (
      <SecretsPage
        prefix={repo}
        title={`${params.owner}/${params.name}`}
        back={{ to: `${repo}/settings`, label: "Settings" }}
      />
    );
  }
  if (match("/secrets", path)) return <SecretsPage prefix="" title="the organisation" />;
  if (match("/approvals", path)) return <ApprovalsPage />;
  if (match("/audit", path)) return <AuditPage search={search} />;
  if ((params = match("/repos/:owner/:name/settings", path)))
    return <RepositorySettingsPage owner={params.owner as string} name={params.name as string} />;
  if ((params = match("/repos/:owner/:name", path)))
    return <RepositoryPage owner={params.owner as string} name={params.name as string} search={search} />;
  if ((params = match("/runs/:id", path)))
    return <RunPage runId={Number(params.id)} attempt={search.get("attempt")} />;
  if ((params = match("/jobs/:id", path))) return <JobLogPage jobId={Number(params.id)} hash={hash} />;
  if (match("/runners", path)) return <RunnersPage user={props.user} />;
  if (match("/tokens", path)) return <TokensPage />;
  return (
    <main className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go home</Link>.
      </p>
    </main>
  );
}

/** How many deployments wait for the signed-in user's review, beside the Approvals link. */
function ApprovalCount() {
  const { data } = useLoad("approval-count", () => request<{ pending: PendingDeployment[] }>("/approvals"), {
    everyMs: 15_000,
  });
  const count = data?.pending.filter((d) => d.canApprove).length ?? 0;
  return count > 0 ? (
    <span className="count" data-testid="approval-count" aria-label={`${count} waiting`}>
      {count}
    </span>
  ) : null;
}

function App() {
  const [user, setUser] = useState<User | undefined>();
  const [error, setError] = useState<unknown>();
  const [checking, setChecking] = useState(() => storedToken() !== null);
  const { path } = useLocation();

  useEffect(() => onSignedOut(() => setUser(undefined)), []);
  useEffect(() => {
    if (!storedToken()) return;
    request<User>("/user")
      .then(setUser, setError)
      .finally(() => setChecking(false));
  }, []);

  // With a token, the page loads at once, alongside the check of who the token belongs to.
  if (!user && !checking) {
    return (
      <>
        <ErrorBox error={error} />
        <SignInPage
          onSignedIn={(signedIn) => {
            setUser(signedIn);
            if (path === "/signin") navigate("/", { replace: true });
          }}
        />
      </>
    );
  }
  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Main">
          <Link to="/" className="brand">
            Conveyor
          </Link>
          <Link to="/" aria-current={path === "/" ? "page" : undefined}>
            Home
          </Link>
          <Link to="/approvals" aria-current={path === "/approvals" ? "page" : undefined}>
            Approvals
            <ApprovalCount />
          </Link>
          <Link to="/runners" aria-current={path === "/runners" ? "page" : undefined}>
            Runners
          </Link>
          {user?.admin ? (
            <>
              <Link to="/secrets" aria-current={path === "/secrets" ? "page" : undefined}>
                Secrets
              </Link>
              <Link to="/audit" aria-current={path === "/audit" ? "page" : undefined}>
                Audit
              </Link>
            </>
          ) : null}
          <Link to="/tokens" aria-current={path === "/tokens" ? "page" : undefined}>
            Tokens
          </Link>
        </nav>
        <div className="top-right">
          <ThemeToggle />
          {user ? (
            <span className="muted" data-testid="signed-in-as">
              {user.login}
            </span>
          ) : null}
          <button
            type="button"
            className="ghost"
            onClick={() => {
              void signOut().then(() => setUser(undefined));
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <div id="content">
        <Page user={user} />
      </div>
    </>
  );
}

applyTheme((localStorage.getItem(THEME_KEY) as Theme | null) ?? "system");
createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
