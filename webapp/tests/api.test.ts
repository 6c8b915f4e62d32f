import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError, describeError, describeStageError } from "../src/api/errors";
import { Http, SESSION_EXPIRED } from "../src/api/http";
import { AuthSession, REFRESH_TOKEN_KEY, refreshDelayMs } from "../src/api/session";
import { FakeXMLHttpRequest, fakeFetch, fakeXhr } from "./fakes";

const pair = (n: number, expires_in = 900) => ({
  access_token: `A${n}`,
  refresh_token: `R${n}`,
  token_type: "bearer",
  expires_in,
});
const me = { id: "u1", name: "ada", is_admin: true, via: "jwt" };

afterEach(() => {
  vi.useRealTimers();
  FakeXMLHttpRequest.reset();
});

describe("Http", () => {
  it("turns the gateway's error body into an ApiError with its message, and 429's Retry-After", async () => {
    const { fetchImpl } = fakeFetch({
      "GET /v1/conversations": {
        status: 429,
        body: { error: { code: "rate_limited", message: "rate limit reached: 60 requests per minute; try again in 7 s" } },
        headers: { "Retry-After": "7" },
      },
    });
    const http = new Http(null, fetchImpl);
    const error = await http.get("/v1/conversations").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfterS: 7 });
    expect(describeError(error)).toBe(
      "June is busy: rate limit reached: 60 requests per minute; try again in 7 s. Please wait 7 seconds and try again.",
    );
  });

  it("says which part is unavailable, and that the gateway cannot be reached", async () => {
    expect(describeError(new ApiError(503, "unavailable", "the inference service is unavailable: down"))).toBe(
      "Part of June is unavailable: the inference service is unavailable: down.",
    );
    const http = new Http(null, () => Promise.reject(new TypeError("Failed to fetch")));
    const error = await http.get("/v1/x").catch((e) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(describeError(error)).toMatch(/could not be reached/);
  });

  it("describes realtime error events by stage", () => {
    expect(describeStageError({ stage: "stt", code: "unavailable", message: "speech recognition is unavailable (the stt service: x)" })).toBe(
      "Part of June is unavailable: speech recognition (stt). speech recognition is unavailable (the stt service: x).",
    );
    expect(describeStageError({ stage: "stt", code: "no_speech", message: "nothing was heard" })).toBe(
      "Problem with speech recognition: nothing was heard.",
    );
  });

  it("on a 401 refreshes once and retries; a second 401 ends the session", async () => {
    let token = "OLD";
    const tokens = {
      accessToken: () => token,
      refresh: vi.fn(async () => {
        token = "NEW";
        return true;
      }),
      expire: vi.fn(),
    };
    const { fetchImpl, calls } = fakeFetch({
      "GET /v1/conversations": ({ headers }) =>
        headers.Authorization === "Bearer NEW"
          ? { body: { object: "list", data: [], has_more: false, next_before: null } }
          : { status: 401, body: { error: { code: "invalid_token", message: "expired" } } },
    });
    const http = new Http(tokens, fetchImpl);
    await expect(http.get("/v1/conversations")).resolves.toMatchObject({ data: [] });
    expect(calls.map((c) => c.headers.Authorization)).toEqual(["Bearer OLD", "Bearer NEW"]);
    expect(tokens.refresh).toHaveBeenCalledTimes(1);

    token = "BAD";
    tokens.refresh.mockImplementation(async () => true); // refreshed, but still refused
    await expect(http.get("/v1/conversations")).rejects.toBeInstanceOf(ApiError);
    expect(tokens.expire).toHaveBeenCalledWith(SESSION_EXPIRED);
  });
});

describe("Http.upload (XMLHttpRequest, for upload progress)", () => {
  function form() {
    const data = new FormData();
    data.append("file", new File(["# Notes"], "notes.md", { type: "text/markdown" }), "notes.md");
    return data;
  }

  it("posts the form with the token, reports progress, and parses the JSON answer", async () => {
    const tokens = { accessToken: () => "ACCESS", refresh: vi.fn(async () => true), expire: vi.fn() };
    const http = new Http(tokens, fakeFetch({}).fetchImpl, fakeXhr);
    const progress: Array<[number, number]> = [];
    const result = http.upload("/v1/documents", form(), { onProgress: (loaded, total) => progress.push([loaded, total]) });
    const xhr = FakeXMLHttpRequest.last();
    expect(xhr).toMatchObject({ method: "POST", url: "/v1/documents" });
    expect(xhr.headers).toEqual({ Accept: "application/json", Authorization: "Bearer ACCESS" });
    expect((xhr.field("file") as File).name).toBe("notes.md");
    xhr.progress(3, 7);
    xhr.progress(7, 7);
    xhr.respond(201, { id: "d1", name: "notes.md" });
    await expect(result).resolves.toEqual({ id: "d1", name: "notes.md" });
    expect(progress).toEqual([
      [3, 7],
      [7, 7],
    ]);
    expect(tokens.refresh).not.toHaveBeenCalled();
  });

  it("on a 401 refreshes once and sends the form again; a second 401 ends the session", async () => {
    let token = "OLD";
    const tokens = {
      accessToken: () => token,
      refresh: vi.fn(async () => {
        token = "NEW";
        return true;
      }),
      expire: vi.fn(),
    };
    FakeXMLHttpRequest.onSend = (xhr) =>
      queueMicrotask(() =>
        xhr.headers.Authorization === "Bearer NEW"
          ? xhr.respond(201, { id: "d1" })
          : xhr.respond(401, { error: { code: "invalid_token", message: "expired" } }),
      );
    const http = new Http(tokens, fakeFetch({}).fetchImpl, fakeXhr);
    await expect(http.upload("/v1/documents", form())).resolves.toEqual({ id: "d1" });
    expect(FakeXMLHttpRequest.instances.map((x) => x.headers.Authorization)).toEqual(["Bearer OLD", "Bearer NEW"]);
    expect(FakeXMLHttpRequest.instances[1].field("file")).toBeInstanceOf(File);
    expect(tokens.refresh).toHaveBeenCalledTimes(1);

    token = "BAD";
    tokens.refresh.mockImplementation(async () => true); // refreshed, but still refused
    await expect(http.upload("/v1/documents", form())).rejects.toBeInstanceOf(ApiError);
    expect(tokens.expire).toHaveBeenCalledWith(SESSION_EXPIRED);
  });

  it("a refusal is an ApiError with the server's message; a dropped connection a NetworkError; abort an AbortError", async () => {
    const http = new Http(null, fakeFetch({}).fetchImpl, fakeXhr);
    const refused = http.upload("/v1/documents", form());
    FakeXMLHttpRequest.last().respond(413, { error: { code: "too_large", message: "the document is over 52428800 bytes" } });
    const error = await refused.catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 413, code: "too_large" });
    expect(describeError(error)).toBe("the document is over 52428800 bytes.");

    const dropped = http.upload("/v1/documents", form());
    FakeXMLHttpRequest.last().fail();
    await expect(dropped).rejects.toBeInstanceOf(NetworkError);

    const controller = new AbortController();
    const cancelled = http.upload("/v1/documents", form(), { signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: "AbortError" });
    expect(FakeXMLHttpRequest.last().aborted).toBe(true);
  });
});

describe("AuthSession", () => {
  it("logs in with {username, password}, keeps the refresh token (never the password) and asks who it is", async () => {
    const { fetchImpl, calls } = fakeFetch({
      "POST /v1/auth/login": { body: pair(1) },
      "GET /v1/auth/me": { body: me },
    });
    const session = new AuthSession({ fetchImpl, storage: localStorage });
    await session.signIn("ada", "secret pw");
    expect(calls[0]).toMatchObject({ method: "POST", url: "/v1/auth/login", body: { username: "ada", password: "secret pw" } });
    expect(calls[0].headers.Authorization).toBeUndefined();
    expect(calls[1].headers.Authorization).toBe("Bearer A1");
    expect(session.state).toEqual({ status: "signed-in", user: me });
    expect(session.accessToken()).toBe("A1");
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe("R1");
    expect(JSON.stringify({ ...localStorage })).not.toContain("secret pw");
    session.signOut();
  });

  it("refreshes the access token a minute before it expires, keeping the newest refresh token", async () => {
    vi.useFakeTimers();
    let n = 1;
    const { fetchImpl, calls } = fakeFetch({
      "POST /v1/auth/login": { body: pair(1) },
      "POST /v1/auth/refresh": () => ({ body: pair(++n) }),
      "GET /v1/auth/me": { body: me },
    });
    const session = new AuthSession({ fetchImpl, storage: localStorage });
    await session.signIn("ada", "pw");
    expect(refreshDelayMs(900)).toBe(840_000);
    await vi.advanceTimersByTimeAsync(839_000);
    expect(calls.filter((c) => c.url === "/v1/auth/refresh")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    const refreshes = calls.filter((c) => c.url === "/v1/auth/refresh");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0].body).toEqual({ refresh_token: "R1" });
    expect(session.accessToken()).toBe("A2");
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe("R2");
    session.signOut();
  });

  it("shares one refresh between concurrent callers", async () => {
    const { fetchImpl, calls } = fakeFetch({
      "POST /v1/auth/login": { body: pair(1) },
      "POST /v1/auth/refresh": { body: pair(2) },
      "GET /v1/auth/me": { body: me },
    });
    const session = new AuthSession({ fetchImpl, storage: null });
    await session.signIn("ada", "pw");
    const results = await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
    expect(results).toEqual([true, true, true]);
    expect(calls.filter((c) => c.url === "/v1/auth/refresh")).toHaveLength(1);
    session.signOut();
  });

  it("restores a session from the stored refresh token, or forgets a refused one", async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, "R0");
    const ok = fakeFetch({ "POST /v1/auth/refresh": { body: pair(1) }, "GET /v1/auth/me": { body: me } });
    const session = new AuthSession({ fetchImpl: ok.fetchImpl, storage: localStorage });
    await session.restore();
    expect(session.state.status).toBe("signed-in");
    expect(ok.calls[0].body).toEqual({ refresh_token: "R0" });
    session.signOut();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();

    localStorage.setItem(REFRESH_TOKEN_KEY, "R0");
    const refused = fakeFetch({
      "POST /v1/auth/refresh": { status: 401, body: { error: { code: "invalid_token", message: "expired" } } },
    });
    const other = new AuthSession({ fetchImpl: refused.fetchImpl, storage: localStorage });
    await other.restore();
    expect(other.state).toEqual({ status: "signed-out", reason: null });
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });
});
