/**
 * When to reconnect the realtime socket: pure state and timers, no WebSocket.
 *
 * - An unexpected close reconnects after 0.5 s, 1 s, 2 s, 4 s, 8 s, then every
 *   10 s, with the same conversation (the caller's `connect`).
 * - The backoff starts again once a connection is *established*: call
 *   {@link Reconnector.established} on `session.started`, not on the socket's
 *   open, because the gateway accepts a socket it refuses (to say why) and
 *   only then closes it.
 * - 4401 (bad or expired token): refresh the token once and reconnect at
 *   once; a second 4401 before a session is established means sign in again.
 * - 4404 (the conversation is gone): stop, and say so.
 * - A close the app asked for (switching conversation, signing out): nothing.
 */

import { CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED } from "./protocol";

export interface BackoffOptions {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, factor: 2, maxMs: 10_000 };

/** The wait before reconnect attempt `attempt` (0-based): 500, 1000, 2000 … capped at 10 000 ms. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const delay = options.initialMs * options.factor ** Math.max(0, attempt);
  return Math.min(options.maxMs, delay);
}

export type ReconnectStatus =
  /** The first connection of this conversation is being made. */
  | "connecting"
  /** The session is established (first time). */
  | "connected"
  /** The socket closed unexpectedly; waiting `delayMs`, then trying again. */
  | "reconnecting"
  /** A session is established again after a drop: reload what may have been stored meanwhile. */
  | "reconnected"
  /** A 4401 close: getting a new access token. */
  | "refreshing"
  /** No more tries (stopped by the app, sign-in needed, or the conversation is gone). */
  | "stopped";

export interface ReconnectDetail {
  /** Failed attempts since the last established session. */
  attempt: number;
  /** The wait before the next try (status "reconnecting"). */
  delayMs?: number;
}

export interface ReconnectCallbacks {
  /** Open a new socket for the same conversation. */
  connect(): void;
  /** 4401: get a new access token; resolves false when the session cannot be refreshed. */
  refreshToken(): Promise<boolean>;
  /** The token was refused again, or could not be refreshed: back to sign-in. */
  signInNeeded(): void;
  /** 4404: the conversation does not exist (any more). */
  notFound(): void;
  onStatus?(status: ReconnectStatus, detail: ReconnectDetail): void;
}

export class Reconnector {
  private readonly callbacks: ReconnectCallbacks;
  private readonly backoff: BackoffOptions;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private authRetried = false;
  private dropped = false;
  private running = false;
  private isEstablished = false;
  private generation = 0;
  private statusValue: ReconnectStatus = "stopped";

  constructor(callbacks: ReconnectCallbacks, backoff: BackoffOptions = DEFAULT_BACKOFF) {
    this.callbacks = callbacks;
    this.backoff = backoff;
  }

  get status(): ReconnectStatus {
    return this.statusValue;
  }

  /** Failed attempts since the last established session. */
  get attempt(): number {
    return this.failures;
  }

  get active(): boolean {
    return this.running;
  }

  /** Connect for the first time (a conversation was opened). */
  start(): void {
    this.clearTimer();
    this.generation += 1;
    this.running = true;
    this.failures = 0;
    this.authRetried = false;
    this.dropped = false;
    this.isEstablished = false;
    this.setStatus("connecting");
    this.callbacks.connect();
  }

  /** The session is established (`session.started`): reset the backoff. Repeats are ignored. */
  established(): void {
    if (!this.running || this.isEstablished) return;
    this.isEstablished = true;
    const wasDropped = this.dropped;
    this.failures = 0;
    this.authRetried = false;
    this.dropped = false;
    this.setStatus(wasDropped ? "reconnected" : "connected");
  }

  /** The socket closed; `intentional` when the app closed it itself. */
  closed(code: number, intentional = false): void {
    if (!this.running || intentional) return;
    this.isEstablished = false;
    this.clearTimer();
    if (code === CLOSE_NOT_FOUND) {
      this.stop();
      this.callbacks.notFound();
      return;
    }
    if (code === CLOSE_UNAUTHORIZED) {
      this.unauthorized();
      return;
    }
    this.retryLater();
  }

  /** Try again now instead of waiting (e.g. the browser is back online). */
  retryNow(): void {
    if (!this.running || this.timer === null) return;
    this.clearTimer();
    this.callbacks.connect();
  }

  /** No more reconnecting (the app closes the socket itself). */
  stop(): void {
    this.clearTimer();
    this.generation += 1;
    if (this.running) {
      this.running = false;
      this.setStatus("stopped");
    }
  }

  private unauthorized(): void {
    if (this.authRetried) {
      this.stop();
      this.callbacks.signInNeeded();
      return;
    }
    this.authRetried = true;
    this.dropped = true;
    this.setStatus("refreshing");
    const generation = this.generation;
    this.callbacks.refreshToken().then(
      (ok) => {
        if (generation !== this.generation) return; // stopped or restarted meanwhile
        if (ok) {
          this.setStatus("reconnecting", 0);
          this.callbacks.connect();
        } else {
          this.stop();
          this.callbacks.signInNeeded();
        }
      },
      () => {
        // the gateway is unreachable: try again later, refreshing again if need be
        if (generation !== this.generation) return;
        this.authRetried = false;
        this.retryLater();
      },
    );
  }

  private retryLater(): void {
    const delayMs = backoffDelay(this.failures, this.backoff);
    this.failures += 1;
    this.dropped = true;
    this.setStatus("reconnecting", delayMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) this.callbacks.connect();
    }, delayMs);
  }

  private setStatus(status: ReconnectStatus, delayMs?: number): void {
    this.statusValue = status;
    this.callbacks.onStatus?.(status, { attempt: this.failures, delayMs });
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
