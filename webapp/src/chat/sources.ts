/** The documents an answer drew on, from its sources (chunks): each document once, best first. */

import type { Source } from "../api/types";

export interface CitedDocument {
  id: string;
  name: string;
}

export const UNNAMED_DOCUMENT = "Untitled document";

function score(source: Source): number {
  return typeof source.score === "number" && Number.isFinite(source.score) ? source.score : Number.NEGATIVE_INFINITY;
}

/**
 * One entry per `document_id`, ordered by the best score among its chunks
 * (ties: in the order they were given), named by the first chunk that has a name.
 */
export function citedDocuments(sources: readonly Source[] | null | undefined): CitedDocument[] {
  if (!Array.isArray(sources)) return [];
  const byId = new Map<string, { id: string; name: string; best: number; order: number }>();
  for (const source of sources) {
    if (!source || typeof source.document_id !== "string" || !source.document_id) continue;
    const name = typeof source.document_name === "string" ? source.document_name.trim() : "";
    const entry = byId.get(source.document_id);
    if (!entry) {
      byId.set(source.document_id, { id: source.document_id, name, best: score(source), order: byId.size });
      continue;
    }
    entry.best = Math.max(entry.best, score(source));
    if (!entry.name) entry.name = name;
  }
  return [...byId.values()]
    .sort((a, b) => b.best - a.best || a.order - b.order)
    .map(({ id, name }) => ({ id, name: name || UNNAMED_DOCUMENT }));
}
