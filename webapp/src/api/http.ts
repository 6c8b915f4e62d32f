/**
 * JSON over HTTP to the gateway, same origin: every path is relative (`/v1/...`).
 *
 * Authenticated calls send the access token as `Authorization: Bearer`; a 401
 * is answered by one token refresh and one retry, and a second 401 (or a
 * refresh that fails) ends the session so the app goes back to sign-in.
 * Uploads go through XMLHttpRequest (`upload()`), the only way a page sees
 * how much of a request body was sent, with the same token and retry.
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

/** Makes the XMLHttpRequest of an upload (fetch reports no upload progress). */
export type XhrFactory = () => XMLHttpRequest;

export const defaultXhr: XhrFactory = () => new globalThis.XMLHttpRequest();

export interface UploadOptions {
  signal?: AbortSignal;
  /** Bytes of the body sent so far, of `total` (from the upload's progress events). */
  onProgress?(loaded: number, total: number): void;
}

function aborted(): DOMException {
  return new DOMException("The request was cancelled.", "AbortError");
}

export class Http {
  private readonly tokens: TokenSource | null;
  private readonly fetchImpl: FetchLike;
  private readonly xhrFactory: XhrFactory;

  constructor(tokens: TokenSource | null, fetchImpl: FetchLike = defaultFetch, xhrFactory: XhrFactory = defaultXhr) {
    this.tokens = tokens;
    this.fetchImpl = fetchImpl;
    this.xhrFactory = xhrFactory;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    const response = await this.authorized(auth, () => this.send(method, path, options, auth));
    return this.parse<T>(response);
  }

  /**
   * POST a multipart form (a file) with the access token, reporting upload
   * progress; like every call, a 401 is answered by one refresh and one retry
   * (which sends the form again).
   */
  async upload<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
    const response = await this.authorized(true, () => this.sendForm("POST", path, form, options));
    return this.parse<T>(response);
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

  /** The response of `send()`, after one refresh and retry on a 401; an ApiError if it is not ok. */
  private async authorized(auth: boolean, send: () => Promise<Response>): Promise<Response> {
    let response = await send();
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
      response = await send();
      if (response.status === 401) {
        this.tokens.expire(SESSION_EXPIRED);
        throw await errorFromResponse(response);
      }
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  private async parse<T>(response: Response): Promise<T> {
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, "invalid_response", "the gateway sent a response that is not JSON");
    }
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

  /** One XMLHttpRequest with a form body (the browser sets the multipart boundary), as a Response. */
  private sendForm(method: string, path: string, form: FormData, options: UploadOptions): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const { signal, onProgress } = options;
      if (signal?.aborted) {
        reject(aborted());
        return;
      }
      let xhr: XMLHttpRequest;
      try {
        xhr = this.xhrFactory();
        xhr.open(method, path);
      } catch {
        reject(new NetworkError());
        return;
      }
      const abort = () => xhr.abort();
      signal?.addEventListener("abort", abort, { once: true });
      const settle = () => signal?.removeEventListener("abort", abort);
      xhr.setRequestHeader("Accept", "application/json");
      const token = this.tokens?.accessToken();
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      if (onProgress) {
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable) onProgress(event.loaded, event.total);
        };
      }
      xhr.onload = () => {
        settle();
        const status = xhr.status;
        if (status < 200 || status > 599) {
          reject(new NetworkError());
          return;
        }
        const headers = new Headers();
        for (const name of ["Content-Type", "Retry-After"]) {
          const value = xhr.getResponseHeader(name);
          if (value) headers.set(name, value);
        }
        const empty = status === 204 || status === 205 || status === 304;
        resolve(new Response(empty ? null : xhr.responseText, { status, statusText: xhr.statusText, headers }));
      };
      xhr.onerror = () => {
        settle();
        reject(new NetworkError());
      };
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => {
        settle();
        reject(aborted());
      };
      xhr.send(form);
    });
  }
}
