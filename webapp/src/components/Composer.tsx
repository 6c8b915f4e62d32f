/** The message box: Enter sends, Shift+Enter makes a new line; Stop while June answers. */

import { type FormEvent, type KeyboardEvent, forwardRef, useImperativeHandle, useLayoutEffect, useRef, useState } from "react";
import { SendIcon, StopIcon } from "./Icons";

export interface ComposerProps {
  /** Returns false when the message could not be sent (then the text stays in the box). */
  onSend(text: string): boolean;
  onStop(): void;
  showStop: boolean;
}

export interface ComposerHandle {
  focus(): void;
}

const MAX_HEIGHT_PX = 200;

export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer({ onSend, onStop, showStop }, ref) {
  const [text, setText] = useState("");
  const box = useRef<HTMLTextAreaElement>(null);

  useImperativeHandle(ref, () => ({ focus: () => box.current?.focus() }), []);

  // grow with the text, up to a limit (then it scrolls)
  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    element.style.height = "auto";
    if (element.scrollHeight > 0) element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!text.trim()) return;
    if (onSend(text)) setText("");
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      if (event.nativeEvent.isComposing) return; // an input method is composing a character
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-message" className="sr-only">
        Message
      </label>
      <textarea
        id="composer-message"
        ref={box}
        rows={1}
        value={text}
        placeholder="Message June"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        aria-describedby="composer-hint"
      />
      <span id="composer-hint" className="sr-only">
        Enter sends; Shift+Enter starts a new line.
      </span>
      {showStop ? (
        <button type="button" className="icon-button stop" onClick={onStop} aria-label="Stop" title="Stop June’s answer">
          <StopIcon />
        </button>
      ) : null}
      <button type="submit" className="icon-button send" aria-label="Send" title="Send" disabled={!text.trim()}>
        <SendIcon />
      </button>
    </form>
  );
});
