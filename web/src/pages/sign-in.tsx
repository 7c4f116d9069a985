/** Sign in with login and password (a token for this tab is created), or with an API token. */
import { useState } from "react";
import type { FormEvent } from "react";
import { signIn, signInWithToken } from "../api";
import type { User } from "../api";
import { ErrorBox } from "../components";

export function SignInPage(props: { onSignedIn: (user: User) => void }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [withToken, setWithToken] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(withToken ? await signInWithToken(password) : await signIn(login, password));
    } catch (problem) {
      setError(problem);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Conveyor</h1>
      <form onSubmit={(event) => void submit(event)} className="card stack">
        {!withToken && (
          <label>
            Login
            <input
              name="login"
              autoComplete="username"
              value={login}
              onChange={(e) => setLogin(e.target.value)}
              required
              autoFocus
            />
          </label>
        )}
        <label>
          {withToken ? "API token" : "Password"}
          <input
            name="password"
            type="password"
            autoComplete={withToken ? "off" : "current-password"}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <button type="button" className="link" onClick={() => setWithToken(!withToken)}>
          {withToken ? "Sign in with login and password" : "Sign in with an API token"}
        </button>
      </form>
      <p className="muted">
        The first administrator's password is printed by <code>conveyor up</code> on its first start.
      </p>
    </main>
  );
}
