/** The first screen: user name and password, or how to make the first user. */

import { type FormEvent, useEffect, useId, useState } from "react";
import * as authApi from "../api/auth";
import { describeError } from "../api/errors";
import type { AuthSession } from "../api/session";

export function SignIn({ session, onError }: { session: AuthSession; onError: (message: string | null) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [hasUsers, setHasUsers] = useState<boolean | null>(null);
  const userId = useId();
  const passwordId = useId();

  useEffect(() => {
    let live = true;
    authApi.setup(session.http).then(
      (info) => {
        if (live) setHasUsers(info.has_users);
      },
      () => {
        // an older gateway without /v1/auth/setup, or not reachable yet: just offer sign-in
      },
    );
    return () => {
      live = false;
    };
  }, [session]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (!username.trim() || !password) {
      onError("Enter your user name and password.");
      return;
    }
    setBusy(true);
    try {
      await session.signIn(username.trim(), password);
      onError(null);
    } catch (error) {
      setPassword("");
      onError(describeError(error));
      setBusy(false);
    }
  }

  return (
    <main className="signin" aria-labelledby="signin-title">
      <form className="signin-card" onSubmit={submit} aria-busy={busy} noValidate>
        <h1 id="signin-title" className="signin-title">
          Sign in to June
        </h1>
        {hasUsers === false ? (
          <div className="signin-setup">
            <p>No user exists yet. Create the first one on the machine that runs June:</p>
            <p>
              <code>june users add NAME</code>
            </p>
            <p>then sign in here with that name and password.</p>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor={userId}>Username</label>
          <input
            id={userId}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </div>
        <div className="field">
          <label htmlFor={passwordId}>Password</label>
          <input
            id={passwordId}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </div>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
