/** `/v1/auth` (src/june/gateway/routes/auth.py). */

import type { Http } from "./http";
import type { Me, SetupInfo, TokenPair } from "./types";

/** `POST /v1/auth/login` `{username, password}` → a token pair. */
export function login(http: Http, username: string, password: string): Promise<TokenPair> {
  return http.post<TokenPair>("/v1/auth/login", { username, password }, { auth: false });
}

/** `POST /v1/auth/refresh` `{refresh_token}` → a new token pair (keep the newest refresh token). */
export function refresh(http: Http, refreshToken: string): Promise<TokenPair> {
  return http.post<TokenPair>("/v1/auth/refresh", { refresh_token: refreshToken }, { auth: false });
}

/** `GET /v1/auth/me`: who the access token belongs to. */
export function me(http: Http): Promise<Me> {
  return http.get<Me>("/v1/auth/me");
}

/** `GET /v1/auth/setup` (no auth): whether any user exists yet. */
export function setup(http: Http): Promise<SetupInfo> {
  return http.get<SetupInfo>("/v1/auth/setup", { auth: false });
}
