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
 * A source an answer drew on: a chunk of one of the person's documents that
 * was put in the prompt (several chunks of one document are several sources).
 * On `turn.done` and on stored assistant messages; mirrors `llm.proto`'s `Source`.
 */
export interface Source {
  document_id: string;
  document_name: string;
  chunk_index: number;
  /** Closeness to the question (cosine): higher is better. */
  score: number;
  text?: string;
}

/** `GET /v1/documents` (items), `POST /v1/documents` (src/june/gateway/routes/documents.py). */
export interface StoredDocument {
  id: string;
  object?: "document";
  name: string;
  /** What June read it as: text/plain, text/markdown, text/html or application/pdf. */
  mime_type: string;
  size_bytes: number;
  sha256: string;
  chunk_count: number;
  /** ISO 8601: when it was added. */
  created_at: string;
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
  /** The document chunks an assistant message drew on (absent or empty: none). */
  sources?: Source[] | null;
}

/** A page of a list endpoint. */
export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  /** The cursor for the next page (`before=`), or null at the end. */
  next_before: string | null;
}
