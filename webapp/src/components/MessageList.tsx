/** The open conversation's messages, oldest first, kept scrolled to the newest. */

import { useLayoutEffect, useRef } from "react";
import type { ChatMessage } from "../chat/controller";
import { MessageBubble } from "./MessageBubble";

export interface MessageListProps {
  messages: ChatMessage[];
  loading: boolean;
  hasEarlier: boolean;
  isNew: boolean;
  partialTranscript: string;
  onLoadEarlier(): void;
}

export function MessageList({ messages, loading, hasEarlier, isNew, partialTranscript, onLoadEarlier }: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const last = messages[messages.length - 1];

  // Follow new messages and a streaming answer, unless the person scrolled up to read.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [messages.length, last?.text, partialTranscript]);

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
  }

  return (
    <div className="messages" ref={scroller} onScroll={onScroll}>
      {hasEarlier ? (
        <button type="button" className="link-button load-earlier" onClick={onLoadEarlier}>
          Load earlier messages
        </button>
      ) : null}
      {loading && messages.length === 0 ? (
        <p className="messages-empty" role="status">
          Loading messages…
        </p>
      ) : null}
      {!loading && messages.length === 0 ? (
        <p className="messages-empty">
          {isNew ? "Send a message to start the conversation." : "No messages in this conversation yet."}
        </p>
      ) : null}
      <div role="log" aria-label="Messages" className="log">
        <ol className="message-list">
          {messages.map((message) => (
            <MessageBubble key={message.key} message={message} />
          ))}
        </ol>
      </div>
      {partialTranscript ? (
        <p className="partial" aria-live="off">
          {partialTranscript}
        </p>
      ) : null}
    </div>
  );
}
