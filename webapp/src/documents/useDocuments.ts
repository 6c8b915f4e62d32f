/**
 * The person's documents (the knowledge base June searches when answering):
 * the list, uploads one after another with their progress, removal.
 *
 * Lives as long as the signed-in workspace, so uploads go on while the panel
 * is closed; sign-out (unmount) cancels what is still uploading.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { deleteDocument, listDocuments, newestFirst, uploadDocument } from "../api/documents";
import { ApiError, describeError } from "../api/errors";
import type { Http } from "../api/http";
import type { StoredDocument } from "../api/types";

export type UploadPhase =
  /** Queued behind another upload. */
  | "waiting"
  /** The file is being sent. */
  | "sending"
  /** Sent; the gateway reads, chunks and embeds it before it answers. */
  | "reading";

export interface Upload {
  key: string;
  name: string;
  /** Bytes sent, of `total`. */
  loaded: number;
  total: number;
  phase: UploadPhase;
}

export interface DocumentsState {
  items: StoredDocument[];
  /** The list is being read and has not been read yet. */
  loading: boolean;
  uploads: Upload[];
  /** The latest thing done, for a polite live region ("Added …", "Removed …"). */
  news: string;
}

export interface Documents extends DocumentsState {
  refresh(): Promise<void>;
  /** Upload files, one after another, after those already queued. */
  upload(files: Iterable<File>): void;
  remove(id: string): Promise<boolean>;
}

let counter = 0;

export function useDocuments(http: Http, onError: (message: string) => void): Documents {
  const [state, setState] = useState<DocumentsState>({ items: [], loading: false, uploads: [], news: "" });
  const errors = useRef(onError);
  errors.current = onError;
  const loaded = useRef(false);
  const latest = useRef(0);
  const queue = useRef<Array<{ key: string; file: File }>>([]);
  const running = useRef(false);
  const abort = useRef<AbortController | null>(null);

  // Made in the effect (not during render) so StrictMode's trial unmount cancels nothing real.
  useEffect(() => {
    const controller = new AbortController();
    abort.current = controller;
    return () => {
      controller.abort();
      queue.current = [];
    };
  }, []);

  const changeUpload = useCallback((key: string, patch: Partial<Upload>) => {
    setState((s) => ({ ...s, uploads: s.uploads.map((u) => (u.key === key ? { ...u, ...patch } : u)) }));
  }, []);

  const refresh = useCallback(async () => {
    const request = ++latest.current;
    if (!loaded.current) setState((s) => ({ ...s, loading: true }));
    try {
      const items = await listDocuments(http);
      if (request !== latest.current) return;
      loaded.current = true;
      setState((s) => ({ ...s, items, loading: false }));
    } catch (error) {
      if (request !== latest.current) return;
      setState((s) => ({ ...s, loading: false }));
      errors.current(describeError(error));
    }
  }, [http]);

  const pump = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      for (let next = queue.current.shift(); next; next = queue.current.shift()) {
        const { key, file } = next;
        const signal = abort.current?.signal;
        if (signal?.aborted) return;
        changeUpload(key, { phase: "sending" });
        try {
          const document = await uploadDocument(http, file, {
            signal,
            onProgress: (sent, total) =>
              changeUpload(key, { loaded: sent, total, phase: sent >= total ? "reading" : "sending" }),
          });
          // a list read that was under way does not know this document: let it not win
          latest.current += 1;
          setState((s) => {
            const known = s.items.some((d) => d.id === document.id);
            return {
              ...s,
              items: newestFirst([document, ...s.items.filter((d) => d.id !== document.id)]),
              uploads: s.uploads.filter((u) => u.key !== key),
              news: known ? `“${document.name}” is already one of your documents.` : `Added “${document.name}”.`,
            };
          });
        } catch (error) {
          if (signal?.aborted) return;
          setState((s) => ({ ...s, uploads: s.uploads.filter((u) => u.key !== key) }));
          errors.current(`“${file.name}” was not added: ${describeError(error)}`);
        }
      }
    } finally {
      running.current = false;
    }
  }, [http, changeUpload]);

  const upload = useCallback(
    (files: Iterable<File>) => {
      const entries = [...files].map((file) => {
        counter += 1;
        return { key: `upload-${counter}`, file };
      });
      if (entries.length === 0) return;
      queue.current.push(...entries);
      setState((s) => ({
        ...s,
        uploads: [
          ...s.uploads,
          ...entries.map(({ key, file }): Upload => ({ key, name: file.name, loaded: 0, total: file.size, phase: "waiting" })),
        ],
      }));
      void pump();
    },
    [pump],
  );

  const remove = useCallback(
    async (id: string) => {
      const name = state.items.find((d) => d.id === id)?.name ?? "the document";
      const gone = () => {
        latest.current += 1;
        setState((s) => ({ ...s, items: s.items.filter((d) => d.id !== id), news: `Removed “${name}”.` }));
      };
      try {
        await deleteDocument(http, id);
        gone();
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          gone(); // already gone: the list should not show it either
          return true;
        }
        errors.current(describeError(error));
        return false;
      }
    },
    [http, state.items],
  );

  return { ...state, refresh, upload, remove };
}
