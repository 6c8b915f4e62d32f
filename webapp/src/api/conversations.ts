/** `/v1/conversations` (src/june/gateway/routes/conversations.py). */

import type { Http } from "./http";
import type { Conversation, ListPage, StoredMessage } from "./types";

const base = "/v1/conversations";

function at(id: string): string {
  return `${base}/${encodeURIComponent(id)}`;
}

/** `GET /v1/conversations?limit=&before=`: most recently active first. */
export function listConversations(
  http: Http,
  options: { limit?: number; before?: string | null } = {},
): Promise<ListPage<Conversation>> {
  return http.get(base, { query: { limit: options.limit ?? 50, before: options.before } });
}

/** `GET /v1/conversations/{id}/messages?limit=&before=`: oldest first; `next_before` pages back. */
export function listMessages(
  http: Http,
  id: string,
  options: { limit?: number; before?: string | null } = {},
): Promise<ListPage<StoredMessage>> {
  return http.get(`${at(id)}/messages`, { query: { limit: options.limit ?? 100, before: options.before } });
}

/** `PATCH /v1/conversations/{id}` `{title}` → the renamed conversation. */
export function renameConversation(http: Http, id: string, title: string): Promise<Conversation> {
  return http.patch(at(id), { title });
}

/** `DELETE /v1/conversations/{id}` (204): the conversation and all its messages. */
export function deleteConversation(http: Http, id: string): Promise<void> {
  return http.delete(at(id));
}
