/**
 * JSON over HTTP to the gateway, same origin: every path is relative (`/v1/...`).
 *
 * Authenticated calls send the access token as `Authorization: Bearer`; a 401
 * is answered by one token refresh and one retry, and a second 401 (or a
 * refresh that fails) ends the session so the app goes back to sign-in.
 */

import { ApiError, NetworkError, errorFromResponse } from "./errors";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Where authenticated calls get their token (implemented by `AuthSession`). */
export interface TokenSource {
  accessToken(): string | null;
  /** Get a new access token; false when the session cannot be refreshed (sign in again). */
  refresh(): Promise<boolean>;
  /** The session is over: forget the tokens and show sign-in, saying why. */
  expire(reason: string): void;
}

export const SESSION_EXPIRED = "Your session has expired. Please sign in again.";

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** Send the access token (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

export const defaultFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export class Http {
  private readonly tokens: TokenSource | null;
  private readonly fetchImpl: FetchLike;

  constructor(tokens: TokenSource | null, fetchImpl: FetchLike = defaultFetch) {
    this.tokens = tokens;
    this.fetchImpl = fetchImpl;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    let response = await this.send(method, path, options, auth);
    if (response.status === 401 && auth && this.tokens) {
      let refreshed = false;
      try {
        refreshed = await this.tokens.refresh();
      } catch {
        refreshed = false;
      }
      if (!refreshed) {
        this.tokens.expire(SESSION_EXPIRED);
        throw await errorFromResponse(response);
      }
      response = await this.send(method, path, options, auth);
      if (response.status === 401) {
        this.tokens.expire(SESSION_EXPIRED);
        throw await errorFromResponse(response);
      }
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, "invalid_response", "the gateway sent a response that is not JSON");
    }
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, { ...options, body });
  }

  patch<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PATCH", path, { ...options, body });
  }

  delete<T = void>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, options);
  }

  private async send(method: string, path: string, options: RequestOptions, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const token = auth ? this.tokens?.accessToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await this.fetchImpl(withQuery(path, options.query), {
        method,
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        credentials: "same-origin",
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new NetworkError();
    }
  }
}
