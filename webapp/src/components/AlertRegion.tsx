/**
 * The one place errors are shown, in plain words: a `role="alert"` region that
 * is always in the page (so screen readers announce what appears in it).
 */

export interface AppAlert {
  id: number;
  message: string;
}

export function AlertRegion({ alert, onDismiss }: { alert: AppAlert | null; onDismiss: () => void }) {
  return (
    <div role="alert" className="alert">
      {alert ? (
        <>
          <p className="alert-text" key={alert.id}>
            {alert.message}
          </p>
          <button type="button" className="alert-dismiss" onClick={onDismiss}>
            Dismiss
          </button>
        </>
      ) : null}
    </div>
  );
}
