/** The app: sign-in, or the signed-in workspace; one alert region for every error. */

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { AuthSession } from "./api/session";
import { AlertRegion, type AppAlert } from "./components/AlertRegion";
import { SignIn } from "./components/SignIn";
import { Workspace } from "./components/Workspace";

export function App({ session }: { session: AuthSession }) {
  const auth = useSyncExternalStore(session.subscribe, session.getState);
  const [alert, setAlert] = useState<AppAlert | null>(null);
  const ids = useRef(0);

  const showError = useCallback((message: string | null) => {
    if (message === null) {
      setAlert(null);
      return;
    }
    ids.current += 1;
    setAlert({ id: ids.current, message });
  }, []);

  useEffect(() => {
    if (session.state.status === "restoring") void session.restore();
  }, [session]);

  // Say why the session ended (expired, refused), if it did not end by "Sign out".
  const reason = auth.status === "signed-out" ? auth.reason : null;
  useEffect(() => {
    if (reason) showError(reason);
  }, [reason, showError]);

  return (
    <div className="app">
      <AlertRegion alert={alert} onDismiss={() => setAlert(null)} />
      {auth.status === "restoring" ? (
        <main className="splash">
          <p role="status">Loading…</p>
        </main>
      ) : auth.status === "signed-out" ? (
        <SignIn session={session} onError={showError} />
      ) : (
        <Workspace session={session} user={auth.user} onError={showError} />
      )}
    </div>
  );
}
