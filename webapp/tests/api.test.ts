import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError, describeError, describeStageError } from "../src/api/errors";
import { Http, SESSION_EXPIRED } from "../src/api/http";
import { AuthSession, REFRESH_TOKEN_KEY, refreshDelayMs } from "../src/api/session";
import { fakeFetch } from "./fakes";

const pair = (n: number, expires_in = 900) => ({
  access_token: `A${n}`,
  refresh_token: `R${n}`,
  token_type: "bearer",
  expires_in,
});
const me = { id: "u1", name: "ada", is_admin: true, via: "jwt" };

afterEach(() => vi.useRealTimers());

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
