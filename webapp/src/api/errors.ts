/**
 * Errors in plain words.
 *
 * Every gateway error has one shape, `{"error": {"code", "message"}}`; a 429
 * also carries `Retry-After` (seconds). The app shows the server's message,
 * with a few words of its own where the code alone says more (wait, a part of
 * June is unavailable).
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds to wait before trying again (the `Retry-After` header of a 429), if given. */
  readonly retryAfterS: number | null;

  constructor(status: number, code: string, message: string, retryAfterS: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

/** The gateway could not be reached at all (it is down, or the network is). */
export class NetworkError extends Error {
  constructor(message = "June's gateway could not be reached. Check that June is running and try again.") {
    super(message);
    this.name = "NetworkError";
  }
}

function retryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const when = Date.parse(header);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

/** The {@link ApiError} of a response that is not ok, from its JSON body when it has one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let code = "http_error";
  let message = `the gateway answered ${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (error && typeof error.message === "string" && error.message) message = error.message;
    if (error && typeof error.code === "string" && error.code) code = error.code;
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  return new ApiError(response.status, code, message, retryAfter(response.headers.get("Retry-After")));
}

function waitWords(seconds: number | null): string {
  if (seconds === null) return "Please wait a moment and try again.";
  if (seconds <= 1) return "Please wait a second and try again.";
  return `Please wait ${seconds} seconds and try again.`;
}

/** The server's message as it was sent, ending like a sentence. */
function verbatim(text: string): string {
  const trimmed = text.trim();
  return !trimmed || /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** What to tell the person about an error thrown by the API layer. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return `June is busy: ${verbatim(error.message)} ${waitWords(error.retryAfterS)}`;
    if (error.code === "unavailable") return `Part of June is unavailable: ${verbatim(error.message)}`;
    return verbatim(error.message);
  }
  if (error instanceof NetworkError) return error.message;
  if (error instanceof Error && error.message) return verbatim(error.message);
  return "Something went wrong.";
}

/** The parts of June a realtime `error` event's `stage` names. */
export const STAGE_NAMES: Record<string, string> = {
  stt: "speech recognition",
  llm: "the language model",
  tts: "speech synthesis",
  session: "the voice session",
  auth: "sign-in",
};

/** What to tell the person about a realtime `error` event (stage, code, message). */
export function describeStageError(event: { stage: string; code: string; message: string }): string {
  const part = STAGE_NAMES[event.stage] ?? event.stage;
  const message = verbatim(event.message);
  switch (event.code) {
    case "unavailable":
      return `Part of June is unavailable: ${part} (${event.stage}). ${message}`;
    case "busy":
    case "rate_limited":
      return `June is busy: ${message} Please wait a moment and try again.`;
    case "timeout":
      return `June took too long to answer (${part}): ${message} Please try again.`;
    default:
      return event.stage === "session" || event.stage === "auth" ? message : `Problem with ${part}: ${message}`;
  }
}
