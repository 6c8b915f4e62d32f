/**
 * `/v1/documents` (src/june/gateway/routes/documents.py): the knowledge base
 * June searches when answering. An upload is `multipart/form-data` with the
 * file in the `file` field; the gateway answers once the document is parsed,
 * chunked and embedded (201 with the document; the same content again
 * answers with the document already stored).
 */

import type { Http, UploadOptions } from "./http";
import type { StoredDocument } from "./types";

const base = "/v1/documents";

/**
 * What the file picker offers: the formats June reads (plain text, Markdown,
 * HTML and PDF; src/june/inference/documents/extract.py), by extension and type.
 */
export const DOCUMENT_ACCEPT = [
  ".txt",
  ".text",
  ".log",
  ".csv",
  ".tsv",
  ".rst",
  ".md",
  ".markdown",
  ".mdown",
  ".mkd",
  ".html",
  ".htm",
  ".xhtml",
  ".pdf",
  "text/plain",
  "text/markdown",
  "text/html",
  "application/xhtml+xml",
  "application/pdf",
].join(",");

export const DOCUMENT_FORMATS = "plain text, Markdown, HTML and PDF";

function at(id: string): string {
  return `${base}/${encodeURIComponent(id)}`;
}

function time(document: StoredDocument): number {
  const value = Date.parse(document.created_at);
  return Number.isNaN(value) ? 0 : value;
}

/** Most recently added first. */
export function newestFirst(documents: readonly StoredDocument[]): StoredDocument[] {
  return [...documents].sort((a, b) => time(b) - time(a));
}

/** `GET /v1/documents` → the user's documents, most recently added first. */
export async function listDocuments(http: Http): Promise<StoredDocument[]> {
  const page = await http.get<{ object: "list"; data: StoredDocument[] }>(base);
  return newestFirst(page?.data ?? []);
}

/** `POST /v1/documents`, multipart: `file` (the file, with its name) → the stored document (201). */
export function uploadDocument(http: Http, file: File, options: UploadOptions = {}): Promise<StoredDocument> {
  const form = new FormData();
  form.append("file", file, file.name);
  return http.upload<StoredDocument>(base, form, options);
}

/** `DELETE /v1/documents/{id}` (204): the document and its chunks. */
export function deleteDocument(http: Http, id: string): Promise<void> {
  return http.delete(at(id));
}
