/** The conversation list: most recently active first, paged by `before=`. */

import { useCallback, useEffect, useRef, useState } from "react";
import { deleteConversation, listConversations, renameConversation } from "../api/conversations";
import { ApiError, describeError } from "../api/errors";
import type { Http } from "../api/http";
import type { Conversation } from "../api/types";

const PAGE = 50;

export interface ConversationsState {
  items: Conversation[];
  loading: boolean;
  hasMore: boolean;
}

export interface Conversations extends ConversationsState {
  refresh(): Promise<void>;
  loadMore(): Promise<void>;
  rename(id: string, title: string): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

export function useConversations(http: Http, onError: (message: string) => void): Conversations {
  const [state, setState] = useState<ConversationsState>({ items: [], loading: true, hasMore: false });
  const cursor = useRef<string | null>(null);
  const errors = useRef(onError);
  errors.current = onError;
  const latest = useRef(0);

  const refresh = useCallback(async () => {
    const request = ++latest.current;
    try {
      const page = await listConversations(http, { limit: PAGE });
      if (request !== latest.current) return;
      cursor.current = page.next_before;
      setState({ items: page.data, loading: false, hasMore: page.has_more });
    } catch (error) {
      if (request !== latest.current) return;
      setState((s) => ({ ...s, loading: false }));
      errors.current(describeError(error));
    }
  }, [http]);

  const loadMore = useCallback(async () => {
    if (!cursor.current) return;
    const request = ++latest.current;
    try {
      const page = await listConversations(http, { limit: PAGE, before: cursor.current });
      if (request !== latest.current) return;
      cursor.current = page.next_before;
      setState((s) => {
        const seen = new Set(s.items.map((c) => c.id));
        return { items: [...s.items, ...page.data.filter((c) => !seen.has(c.id))], loading: false, hasMore: page.has_more };
      });
    } catch (error) {
      errors.current(describeError(error));
    }
  }, [http]);

  const rename = useCallback(
    async (id: string, title: string) => {
      try {
        const renamed = await renameConversation(http, id, title);
        setState((s) => ({ ...s, items: s.items.map((c) => (c.id === id ? { ...c, ...renamed } : c)) }));
        return true;
      } catch (error) {
        errors.current(describeError(error));
        return false;
      }
    },
    [http],
  );

  const remove = useCallback(
    async (id: string) => {
      try {
        await deleteConversation(http, id);
        setState((s) => ({ ...s, items: s.items.filter((c) => c.id !== id) }));
        return true;
      } catch (error) {
        errors.current(describeError(error));
        if (error instanceof ApiError && error.status === 404) {
          // already gone: the list should not show it either
          setState((s) => ({ ...s, items: s.items.filter((c) => c.id !== id) }));
          return true;
        }
        return false;
      }
    },
    [http],
  );

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return { ...state, refresh, loadMore, rename, remove };
}
