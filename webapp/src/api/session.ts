/**
 * The signed-in session: an access token in memory, the refresh token in
 * memory and in localStorage (so a reload stays signed in), never the password.
 *
 * The access token is refreshed shortly before it expires; a 401 from the API
 * triggers one refresh (see `Http`), concurrent refreshes share one request,
 * and a refresh that is refused ends the session.
 */

import * as authApi from "./auth";
import { ApiError, describeError } from "./errors";
import { Http, type FetchLike, type TokenSource, defaultFetch } from "./http";
import type { Me, TokenPair } from "./types";

export const REFRESH_TOKEN_KEY = "june.refresh_token";

export type AuthState =
  | { status: "restoring" }
  | { status: "signed-out"; reason: string | null }
  | { status: "signed-in"; user: Me | null };

export interface SessionOptions {
  fetchImpl?: FetchLike;
  storage?: Storage | null;
}

/** When to refresh an access token valid for `expiresInS` seconds: a minute early (at most a fifth of its life). */
export function refreshDelayMs(expiresInS: number): number {
  const margin = Math.min(60, expiresInS * 0.2);
  return Math.max(5, expiresInS - margin) * 1000;
}

function defaultStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

export class AuthSession implements TokenSource {
  readonly http: Http;
  private access: string | null = null;
  private refreshTokenValue: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<boolean> | null = null;
  private restoring: Promise<void> | null = null;
  /** Bumped on sign-out, so a refresh that was under way then is not kept. */
  private epoch = 0;
  private readonly storage: Storage | null;
  private readonly listeners = new Set<() => void>();
  private current: AuthState = { status: "restoring" };

  constructor(options: SessionOptions = {}) {
    this.http = new Http(this, options.fetchImpl ?? defaultFetch);
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.refreshTokenValue = this.read();
  }

  get state(): AuthState {
    return this.current;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): AuthState => this.current;

  accessToken(): string | null {
    return this.access;
  }

  /** At start-up: sign in again with a stored refresh token, if there is one (once, however often called). */
  restore(): Promise<void> {
    if (!this.restoring) this.restoring = this.doRestore();
    return this.restoring;
  }

  private async doRestore(): Promise<void> {
    if (!this.refreshTokenValue) {
      this.set({ status: "signed-out", reason: null });
      return;
    }
    let ok: boolean;
    try {
      ok = await this.refresh();
    } catch (error) {
      // the gateway is not reachable: keep the stored token for the next try
      this.set({ status: "signed-out", reason: describeError(error) });
      return;
    }
    if (ok) await this.signedIn();
    else this.signOut(null); // the stored token is no longer valid
  }

  /** Log in with a user name and password (throws the gateway's error, e.g. wrong password). */
  async signIn(username: string, password: string): Promise<void> {
    const pair = await authApi.login(this.http, username, password);
    this.accept(pair);
    await this.signedIn();
  }

  /**
   * A new access token from the refresh token. False when the gateway refuses
   * it (the session is over); a network failure throws.
   */
  refresh(): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = this.doRefresh().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  expire(reason: string): void {
    this.signOut(reason);
  }

  /** Forget both tokens and go back to sign-in. */
  signOut(reason: string | null = null): void {
    this.epoch += 1;
    this.access = null;
    this.refreshTokenValue = null;
    this.clearTimer();
    try {
      this.storage?.removeItem(REFRESH_TOKEN_KEY);
    } catch {
      // storage unavailable: nothing was kept there
    }
    this.set({ status: "signed-out", reason });
  }

  private async doRefresh(): Promise<boolean> {
    const token = this.refreshTokenValue;
    if (!token) return false;
    const epoch = this.epoch;
    try {
      const pair = await authApi.refresh(this.http, token);
      if (epoch !== this.epoch) return false; // signed out meanwhile
      this.accept(pair);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        return false;
      }
      throw error;
    }
  }

  private async signedIn(): Promise<void> {
    let user: Me | null = null;
    try {
      user = await authApi.me(this.http);
    } catch {
      user = null; // only the name in the header is missing
    }
    if (this.access) this.set({ status: "signed-in", user });
  }

  private accept(pair: TokenPair): void {
    this.access = pair.access_token;
    this.refreshTokenValue = pair.refresh_token;
    try {
      this.storage?.setItem(REFRESH_TOKEN_KEY, pair.refresh_token);
    } catch {
      // storage full or disabled: the session still works until the page closes
    }
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.refresh()
        .then((ok) => {
          if (!ok) this.signOut("Your session has expired. Please sign in again.");
        })
        .catch(() => {
          // offline: the next request's 401 (or a reconnect) tries again
        });
    }, refreshDelayMs(pair.expires_in));
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private read(): string | null {
    try {
      return this.storage?.getItem(REFRESH_TOKEN_KEY) ?? null;
    } catch {
      return null;
    }
  }

  private set(state: AuthState): void {
    this.current = state;
    for (const listener of this.listeners) listener();
  }
}
