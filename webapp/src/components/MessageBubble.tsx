/** One message: the person's on the right, June's on the left, with its time. Text only, never HTML. */

import type { ChatMessage } from "../chat/controller";
import { formatFull, formatMessageTime } from "../format";
import { SpeakerOnIcon } from "./Icons";

const STATUS_WORDS: Partial<Record<ChatMessage["status"], string>> = {
  sending: "Sending…",
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Connection lost",
};

export function MessageBubble({ message }: { message: ChatMessage }) {
  const mine = message.role === "user";
  const streaming = message.status === "streaming";
  const status = message.status === "failed" && mine ? "Not sent" : STATUS_WORDS[message.status];
  return (
    <li className={`message ${mine ? "mine" : "theirs"}`} aria-busy={streaming || undefined}>
      <div className={`bubble status-${message.status}`}>
        <span className="sr-only">{mine ? "You:" : "June:"} </span>
        {message.text ? (
          <p className="bubble-text">{message.text}</p>
        ) : streaming ? (
          <p className="bubble-text typing">
            <span className="sr-only">June is answering…</span>
            <span className="dots" aria-hidden="true">
              <span />
              <span />
              <span />
            </span>
          </p>
        ) : null}
        {message.sources.length > 0 ? (
          <div className="sources">
            <span className="sources-label">Sources</span>
            <ul>
              {message.sources.map((source, index) => (
                <li key={`${source.document_id}-${source.chunk_index ?? index}`}>
                  {/* TODO(sources): document names are not on turn.done / the messages API yet. */}
                  {source.document_name || "a document"}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <div className="bubble-meta">
          {message.audioSeconds > 0 ? (
            <span
              className="bubble-audio"
              role="img"
              aria-label={`Spoken answer, ${message.audioSeconds.toFixed(1)} seconds`}
            >
              <SpeakerOnIcon /> {message.audioSeconds.toFixed(1)} s
            </span>
          ) : null}
          {status ? <span className="bubble-status">{status}</span> : null}
          <time dateTime={message.createdAt} title={formatFull(message.createdAt)}>
            {formatMessageTime(message.createdAt)}
          </time>
        </div>
      </div>
    </li>
  );
}
