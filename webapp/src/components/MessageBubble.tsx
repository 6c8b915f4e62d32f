/**
 * One message: the person's on the right, June's on the left, with its time;
 * under June's answer, the documents it drew on ("Sources"). Text only, never HTML.
 */

import { useId } from "react";
import type { ChatMessage } from "../chat/controller";
import { citedDocuments } from "../chat/sources";
import { formatFull, formatMessageTime } from "../format";
import { SpeakerOnIcon } from "./Icons";

const STATUS_WORDS: Partial<Record<ChatMessage["status"], string>> = {
  speaking: "Speaking…",
  sending: "Sending…",
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Connection lost",
};

export function MessageBubble({ message }: { message: ChatMessage }) {
  const mine = message.role === "user";
  const streaming = message.status === "streaming";
  const status = message.status === "failed" && mine ? "Not sent" : STATUS_WORDS[message.status];
  const sourcesLabel = useId();
  const cited = mine ? [] : citedDocuments(message.sources);
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
        {message.audioUrl ? (
          <audio controls preload="metadata" src={message.audioUrl} aria-label={mine ? "Your recording" : "June's answer"} />
        ) : null}
        {cited.length > 0 ? (
          <div className="sources">
            <span className="sources-label" id={sourcesLabel}>
              Sources
            </span>
            <ul aria-labelledby={sourcesLabel}>
              {cited.map((document) => (
                <li key={document.id}>{document.name}</li>
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
