/**
 * The microphone recorder's states, as a small pure state machine the UI follows:
 *
 *     idle → requesting → recording → stopping → idle
 *
 * plus the error states `denied` (permission refused), `no-device` (no
 * microphone) and `failed` (anything else, e.g. the microphone went away),
 * from which `start` tries again. `stop` while the permission is still being
 * asked for goes to `stopping`: when the microphone arrives it is released at
 * once (`granted` keeps `stopping`), and `stopped` ends in `idle`.
 */

export type RecorderStatus = "idle" | "requesting" | "recording" | "stopping" | "denied" | "no-device" | "failed";

export interface RecorderState {
  status: RecorderStatus;
  /** What went wrong, in plain words (error states only). */
  error: string | null;
}

export type RecorderEvent =
  | { type: "start" }
  | { type: "granted" }
  | { type: "denied"; message?: string }
  | { type: "no-device"; message?: string }
  | { type: "fail"; message?: string }
  | { type: "stop" }
  | { type: "stopped" };

export const IDLE: RecorderState = { status: "idle", error: null };

const ERROR_STATUSES: ReadonlySet<RecorderStatus> = new Set(["denied", "no-device", "failed"]);

export function isError(state: RecorderState): boolean {
  return ERROR_STATUSES.has(state.status);
}

/** Whether the microphone is asked for, open, or closing (a new start must wait). */
export function isBusy(state: RecorderState): boolean {
  return state.status === "requesting" || state.status === "recording" || state.status === "stopping";
}

const DEFAULT_MESSAGES = {
  denied: "permission to use it was refused. Allow the microphone for this site in the browser and try again.",
  "no-device": "no microphone was found. Connect one and try again.",
  failed: "the microphone could not be opened.",
} as const;

export function transition(state: RecorderState, event: RecorderEvent): RecorderState {
  switch (state.status) {
    case "idle":
    case "denied":
    case "no-device":
    case "failed":
      return event.type === "start" ? { status: "requesting", error: null } : state;
    case "requesting":
      switch (event.type) {
        case "granted":
          return { status: "recording", error: null };
        case "denied":
          return { status: "denied", error: event.message ?? DEFAULT_MESSAGES.denied };
        case "no-device":
          return { status: "no-device", error: event.message ?? DEFAULT_MESSAGES["no-device"] };
        case "fail":
          return { status: "failed", error: event.message ?? DEFAULT_MESSAGES.failed };
        case "stop":
          return { status: "stopping", error: null };
        default:
          return state;
      }
    case "recording":
      switch (event.type) {
        case "stop":
          return { status: "stopping", error: null };
        case "fail":
          return { status: "failed", error: event.message ?? DEFAULT_MESSAGES.failed };
        default:
          return state;
      }
    case "stopping":
      // granted: the microphone came after a stop; the recorder releases it at once.
      // denied / no-device / fail: nothing to release, and nobody waits for it any more.
      switch (event.type) {
        case "stopped":
        case "denied":
        case "no-device":
        case "fail":
          return IDLE;
        default:
          return state;
      }
  }
}

/** What a failed `getUserMedia` means: its DOMException's name → the event. */
export function mediaErrorEvent(error: unknown): RecorderEvent {
  const name = (error as { name?: unknown } | null)?.name;
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return { type: "denied" };
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return { type: "no-device" };
    case "NotReadableError":
    case "TrackStartError":
      return { type: "fail", message: "the microphone is in use by another program, or the system refused it." };
    default: {
      const message = error instanceof Error && error.message ? error.message : null;
      return { type: "fail", message: message ? `the microphone could not be opened (${message}).` : undefined };
    }
  }
}
