/** The open conversation: header (back, title, connection status, speaker), messages, message box. */

import { forwardRef, useImperativeHandle, useRef } from "react";
import type { ChatState } from "../chat/controller";
import { BackIcon, SpeakerOffIcon, SpeakerOnIcon } from "./Icons";
import { Composer, type ComposerHandle } from "./Composer";
import { MessageList } from "./MessageList";

export interface ChatViewProps {
  state: ChatState;
  title: string;
  onBack(): void;
  onSend(text: string): boolean;
  onStop(): void;
  onSpeaker(on: boolean): void;
  onLoadEarlier(): void;
  /** Voice input (absent: no voice controls). */
  onStartRecording?(): void;
  onStopRecording?(): void;
  onCall?(on: boolean): void;
}

export interface ChatViewHandle {
  focusComposer(): void;
  focusTitle(): void;
}

export const ChatView = forwardRef<ChatViewHandle, ChatViewProps>(function ChatView(
  { state, title, onBack, onSend, onStop, onSpeaker, onLoadEarlier, onStartRecording, onStopRecording, onCall },
  ref,
) {
  const composer = useRef<ComposerHandle>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useImperativeHandle(
    ref,
    () => ({
      focusComposer: () => composer.current?.focus(),
      focusTitle: () => heading.current?.focus(),
    }),
    [],
  );

  return (
    <section className="chat-view" aria-labelledby="chat-title">
      <header className="chat-header">
        <button type="button" className="icon-button back" aria-label="Back to conversations" onClick={onBack}>
          <BackIcon />
        </button>
        <div className="chat-heading">
          <h2 id="chat-title" ref={heading} tabIndex={-1}>
            {title}
          </h2>
          <p className="connection" role="status">
            {state.notice ?? ""}
          </p>
        </div>
        <button
          type="button"
          className="toggle"
          aria-pressed={state.speaker}
          onClick={() => onSpeaker(!state.speaker)}
          title={state.speaker ? "June’s answers are spoken: turn speech off" : "June’s answers are silent: turn speech on"}
        >
          {state.speaker ? <SpeakerOnIcon /> : <SpeakerOffIcon />}
          <span className="toggle-label">Speaker</span>
        </button>
      </header>
      <MessageList
        messages={state.messages}
        loading={state.loading}
        hasEarlier={state.hasEarlier}
        isNew={state.conversationId === null}
        partialTranscript={state.partialTranscript}
        onLoadEarlier={onLoadEarlier}
      />
      {state.voice === "call" ? (
        <p className="call-status" role="status" aria-label="Call status">
          {state.callStatus ?? ""}
        </p>
      ) : null}
      <Composer
        ref={composer}
        onSend={onSend}
        onStop={onStop}
        showStop={state.answering || state.playing}
        voice={
          onStartRecording && onStopRecording && onCall
            ? {
                recording: state.voice === "message",
                inCall: state.voice === "call",
                onStartRecording,
                onStopRecording,
                onCall,
              }
            : undefined
        }
      />
    </section>
  );
});
