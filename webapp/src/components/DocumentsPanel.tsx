/**
 * The documents June searches when answering: a modal dialog over the
 * workspace (the whole screen on a phone) listing them, newest first, with
 * an upload button, drag and drop of files, a progress bar per upload, and
 * removal after confirming. Every name is React text, never HTML.
 */

import {
  type ChangeEvent,
  type DragEvent,
  type KeyboardEvent,
  type MouseEvent,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";
import { DOCUMENT_ACCEPT, DOCUMENT_FORMATS } from "../api/documents";
import type { StoredDocument } from "../api/types";
import type { Documents, Upload } from "../documents/useDocuments";
import { formatBytes, formatFull, formatMessageTime } from "../format";
import { DocumentIcon, TrashIcon, UploadIcon } from "./Icons";

export interface DocumentsPanelProps {
  documents: Documents;
  onClose(): void;
}

function carriesFiles(event: DragEvent): boolean {
  const types = event.dataTransfer?.types;
  return !types || Array.from(types).includes("Files");
}

export function DocumentsPanel({ documents, onClose }: DocumentsPanelProps) {
  const { items, loading, uploads, news } = documents;
  const heading = useRef<HTMLHeadingElement>(null);
  const [dragging, setDragging] = useState(false);
  const titleId = useId();
  const introId = useId();
  const inputId = useId();

  useEffect(() => {
    heading.current?.focus();
  }, []);

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    }
  }

  function onBackdropClick(event: MouseEvent) {
    if (event.target === event.currentTarget) onClose();
  }

  function onDragOver(event: DragEvent) {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // accept the drop (and keep the browser from opening the file)
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    setDragging(true);
  }

  function onDragLeave(event: DragEvent) {
    const to = event.relatedTarget as Node | null;
    if (!to || !event.currentTarget.contains(to)) setDragging(false);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length > 0) documents.upload(files);
  }

  function onPick(event: ChangeEvent<HTMLInputElement>) {
    const files = Array.from(event.target.files ?? []);
    event.target.value = ""; // picking the same file again is a new upload
    documents.upload(files);
  }

  async function remove(id: string): Promise<boolean> {
    const ok = await documents.remove(id);
    if (ok) heading.current?.focus(); // the row (and its button) is gone
    return ok;
  }

  return (
    <div
      className="documents-backdrop"
      onClick={onBackdropClick}
      onDragEnter={onDragOver}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <section
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={introId}
        className={dragging ? "documents-panel dragging" : "documents-panel"}
        onKeyDown={onKeyDown}
      >
        <header className="documents-header">
          <h2 id={titleId} ref={heading} tabIndex={-1}>
            Documents
          </h2>
          <button type="button" className="small" onClick={onClose}>
            Close
          </button>
        </header>
        <div className="documents-body">
          <p id={introId} className="documents-intro">
            June searches these when answering. It reads {DOCUMENT_FORMATS}.
          </p>
          <div className="dropzone">
            <input
              id={inputId}
              className="sr-only file-input"
              type="file"
              multiple
              accept={DOCUMENT_ACCEPT}
              onChange={onPick}
            />
            <label htmlFor={inputId} className="upload-button">
              <UploadIcon />
              Upload a document
            </label>
            <span className="dropzone-hint">or drop files here</span>
          </div>
          {uploads.length > 0 ? (
            <ul className="uploads" aria-label="Uploads">
              {uploads.map((upload) => (
                <UploadRow key={upload.key} upload={upload} />
              ))}
            </ul>
          ) : null}
          {loading && items.length === 0 ? (
            <p className="list-empty" role="status">
              Loading documents…
            </p>
          ) : items.length === 0 ? (
            <p className="list-empty">No documents yet. Upload one, and June can answer from it.</p>
          ) : (
            <ul className="documents" aria-label="Your documents">
              {items.map((document) => (
                <DocumentRow key={document.id} document={document} onRemove={remove} />
              ))}
            </ul>
          )}
          <p className="sr-only" aria-live="polite">
            {news}
          </p>
        </div>
        {dragging ? (
          <div className="drop-hint" aria-hidden="true">
            Drop files to add them
          </div>
        ) : null}
      </section>
    </div>
  );
}

function UploadRow({ upload }: { upload: Upload }) {
  const percent =
    upload.phase === "reading"
      ? 100
      : upload.total > 0
        ? Math.min(100, Math.round((upload.loaded / upload.total) * 100))
        : 0;
  const words =
    upload.phase === "waiting" ? "Waiting…" : upload.phase === "reading" ? "Reading it…" : `${percent}%`;
  return (
    <li className="upload">
      <div className="upload-line">
        <span className="upload-name">{upload.name}</span>
        <span className="upload-state">{words}</span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Uploading ${upload.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={upload.phase === "reading" ? "Sent; June is reading it" : words}
      >
        <div className="progress-bar" style={{ width: `${percent}%` }} />
      </div>
    </li>
  );
}

function DocumentRow({ document, onRemove }: { document: StoredDocument; onRemove(id: string): Promise<boolean> }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const confirmId = useId();
  const removeButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const restoreFocus = useRef(false);

  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
    else if (restoreFocus.current) {
      restoreFocus.current = false;
      removeButton.current?.focus();
    }
  }, [confirming]);

  function cancel() {
    restoreFocus.current = true;
    setConfirming(false);
  }

  async function remove() {
    setBusy(true);
    const ok = await onRemove(document.id);
    // on success this row is gone; otherwise go back to it
    if (!ok) {
      setBusy(false);
      cancel();
    }
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // Escape leaves the question, not the panel
      cancel();
    }
  }

  return (
    <li className={confirming ? "document confirming" : "document"}>
      <div className="document-row">
        <DocumentIcon />
        <div className="document-info">
          <span className="document-name" id={nameId}>
            {document.name}
          </span>
          <span className="document-meta">
            {formatBytes(document.size_bytes)} · added{" "}
            <time dateTime={document.created_at} title={formatFull(document.created_at)}>
              {formatMessageTime(document.created_at)}
            </time>
          </span>
        </div>
        {confirming ? null : (
          <button
            type="button"
            ref={removeButton}
            className="icon-button"
            aria-label="Remove document"
            aria-describedby={nameId}
            title="Remove document"
            onClick={() => setConfirming(true)}
          >
            <TrashIcon />
          </button>
        )}
      </div>
      {confirming ? (
        <div role="group" aria-labelledby={confirmId} className="document-confirm" onKeyDown={onKeyDown}>
          <p id={confirmId} className="confirm-text">
            Remove “{document.name}”? June will no longer search it.
          </p>
          <div className="row-actions">
            <button type="button" ref={confirmButton} className="danger small" onClick={remove} disabled={busy}>
              Remove
            </button>
            <button type="button" className="small" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
    </li>
  );
}
