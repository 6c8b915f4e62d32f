/** What the gateway's REST API returns (src/june/gateway/routes/*.py, history.py). */

/** `POST /v1/auth/login` and `POST /v1/auth/refresh`. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds the access token is valid for. */
  expires_in: number;
}

/** `GET /v1/auth/me`. */
export interface Me {
  id: string;
  name: string;
  is_admin: boolean;
  via: "jwt" | "api_key" | string;
}

/** `GET /v1/auth/setup` (no auth needed). */
export interface SetupInfo {
  has_users: boolean;
}

export interface Conversation {
  id: string;
  object?: "conversation";
  /** Null until the conversation is named (by June or by a rename). */
  title: string | null;
  created_at: string | null;
  updated_at: string | null;
  message_count: number;
}

/**
 * A source an answer drew on (a chunk of one of the person's documents).
 * Mirrors `llm.proto`'s `Source`.
 */
export interface Source {
  document_id: string;
  document_name?: string;
  chunk_index?: number;
  score?: number;
  text?: string;
}

export interface StoredMessage {
  id: string;
  object?: "conversation.message";
  role: "user" | "assistant" | "system" | "tool" | string;
  text: string;
  created_at: string | null;
  timings: Record<string, number> | null;
  tokens_in: number | null;
  tokens_out: number | null;
  has_audio: boolean;
  // TODO(sources): the messages API does not return an answer's sources yet
  // (history.py `_message` has no such field); once it does, they show under
  // the bubble: the app already renders `sources` when present.
  sources?: Source[];
}

/** A page of a list endpoint. */
export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  /** The cursor for the next page (`before=`), or null at the end. */
  next_before: string | null;
}
