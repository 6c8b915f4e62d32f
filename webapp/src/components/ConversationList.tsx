/** The conversation list (inside the page's <nav>): open, rename, delete. */

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { Conversation } from "../api/types";
import { conversationTitle, formatFull, formatListTime } from "../format";
import { PencilIcon, TrashIcon } from "./Icons";

export interface ConversationListProps {
  items: Conversation[];
  loading: boolean;
  hasMore: boolean;
  activeId: string | null;
  onOpen(id: string): void;
  onRename(id: string, title: string): Promise<boolean>;
  onDelete(id: string): Promise<boolean>;
  onLoadMore(): void;
}

export function ConversationList(props: ConversationListProps) {
  const { items, loading, hasMore } = props;
  if (loading && items.length === 0) {
    return (
      <p className="list-empty" role="status">
        Loading conversations…
      </p>
    );
  }
  return (
    <>
      {items.length === 0 ? (
        <p className="list-empty">No conversations yet. Start one with “New conversation”.</p>
      ) : (
        <ul className="conversations">
          {items.map((item) => (
            <ConversationItem key={item.id} conversation={item} {...props} />
          ))}
        </ul>
      )}
      {hasMore ? (
        <button type="button" className="link-button" onClick={props.onLoadMore}>
          Load more conversations
        </button>
      ) : null}
    </>
  );
}

type Mode = "view" | "rename" | "delete";

function ConversationItem({
  conversation,
  activeId,
  onOpen,
  onRename,
  onDelete,
}: ConversationListProps & { conversation: Conversation }) {
  const [mode, setMode] = useState<Mode>("view");
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const renameButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const restoreFocus = useRef<"rename" | "delete" | null>(null);
  const title = conversationTitle(conversation.title);
  const titleId = `conversation-title-${conversation.id}`;
  const active = conversation.id === activeId;

  useEffect(() => {
    if (mode === "rename") input.current?.select();
    if (mode === "delete") confirm.current?.focus();
    if (mode === "view" && restoreFocus.current) {
      (restoreFocus.current === "rename" ? renameButton : deleteButton).current?.focus();
      restoreFocus.current = null;
    }
  }, [mode]);

  function back(from: "rename" | "delete") {
    restoreFocus.current = from;
    setMode("view");
  }

  async function saveTitle(event: FormEvent) {
    event.preventDefault();
    const next = draft.trim();
    if (!next || next === conversation.title) {
      back("rename");
      return;
    }
    setBusy(true);
    const ok = await onRename(conversation.id, next);
    setBusy(false);
    if (ok) back("rename");
  }

  async function remove() {
    setBusy(true);
    const ok = await onDelete(conversation.id);
    // on success this item is gone; otherwise go back to it
    if (!ok) {
      setBusy(false);
      back("delete");
    }
  }

  function escape(event: KeyboardEvent, from: "rename" | "delete") {
    if (event.key === "Escape") {
      event.preventDefault();
      back(from);
    }
  }

  if (mode === "rename") {
    return (
      <li className="conversation editing">
        <form className="rename-form" onSubmit={saveTitle} onKeyDown={(e) => escape(e, "rename")}>
          <label className="sr-only" htmlFor={`rename-${conversation.id}`}>
            Conversation title
          </label>
          <input
            id={`rename-${conversation.id}`}
            ref={input}
            value={draft}
            maxLength={500}
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="row-actions">
            <button type="submit" className="primary small" disabled={busy}>
              Save
            </button>
            <button type="button" className="small" onClick={() => back("rename")}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  if (mode === "delete") {
    return (
      <li className="conversation confirming">
        <div role="group" aria-labelledby={`confirm-${conversation.id}`} onKeyDown={(e) => escape(e, "delete")}>
          <p id={`confirm-${conversation.id}`} className="confirm-text">
            Delete “{title}” and all its messages?
          </p>
          <div className="row-actions">
            <button type="button" ref={confirm} className="danger small" onClick={remove} disabled={busy}>
              Delete
            </button>
            <button type="button" className="small" onClick={() => back("delete")}>
              Cancel
            </button>
          </div>
        </div>
      </li>
    );
  }

  return (
    <li className={active ? "conversation active" : "conversation"}>
      <button
        type="button"
        className="conversation-open"
        aria-current={active ? "true" : undefined}
        onClick={() => onOpen(conversation.id)}
      >
        <span className="conversation-title" id={titleId}>
          {title}
        </span>
        <time className="conversation-time" dateTime={conversation.updated_at ?? undefined} title={formatFull(conversation.updated_at)}>
          {formatListTime(conversation.updated_at)}
        </time>
      </button>
      <button
        type="button"
        ref={renameButton}
        className="icon-button"
        aria-label="Rename conversation"
        aria-describedby={titleId}
        title="Rename conversation"
        onClick={() => {
          setDraft(conversation.title ?? "");
          setMode("rename");
        }}
      >
        <PencilIcon />
      </button>
      <button
        type="button"
        ref={deleteButton}
        className="icon-button"
        aria-label="Delete conversation"
        aria-describedby={titleId}
        title="Delete conversation"
        onClick={() => setMode("delete")}
      >
        <TrashIcon />
      </button>
    </li>
  );
}
