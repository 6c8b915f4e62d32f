/**
 * The message box: Enter sends, Shift+Enter makes a new line; Stop while June answers.
 *
 * Voice: "Record voice message" (hold to talk, or a short press / Space / Enter
 * to start and again to stop) and "Call" (a hands-free conversation; pressed while in the call).
 */

import {
  type FormEvent,
  type KeyboardEvent,
  type PointerEvent,
  forwardRef,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { MicIcon, PhoneIcon, SendIcon, StopIcon } from "./Icons";

/** A press shorter than this toggles; a longer one is hold-to-talk (released: stop). */
export const HOLD_MS = 300;

export interface VoiceControls {
  /** A voice message is being recorded (or the microphone is being asked for). */
  recording: boolean;
  inCall: boolean;
  onStartRecording(): void;
  onStopRecording(): void;
  onCall(on: boolean): void;
}

export interface ComposerProps {
  /** Returns false when the message could not be sent (then the text stays in the box). */
  onSend(text: string): boolean;
  onStop(): void;
  showStop: boolean;
  /** Absent: no voice controls. */
  voice?: VoiceControls;
}

export interface ComposerHandle {
  focus(): void;
}

const MAX_HEIGHT_PX = 200;

export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer({ onSend, onStop, showStop, voice }, ref) {
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
      {voice ? <VoiceButtons voice={voice} /> : null}
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

function VoiceButtons({ voice }: { voice: VoiceControls }) {
  /** The press in progress: when it began, and whether it started the recording. */
  const press = useRef<{ at: number; started: boolean } | null>(null);
  /** The click that follows a handled pointer press is not a toggle of its own. */
  const pointerHandled = useRef(false);
  const latest = useRef(voice);
  latest.current = voice;

  function onPointerDown(event: PointerEvent<HTMLButtonElement>) {
    if ((event.button ?? 0) !== 0 || voice.inCall) return;
    pointerHandled.current = true;
    const started = !latest.current.recording;
    press.current = { at: Date.now(), started };
    if (started) latest.current.onStartRecording();
  }

  function release() {
    const current = press.current;
    press.current = null;
    if (!current) return;
    // a short press that started the recording leaves it on (click-to-toggle); anything else stops it
    if (current.started && Date.now() - current.at < HOLD_MS) return;
    latest.current.onStopRecording();
  }

  function onClick() {
    if (pointerHandled.current) {
      pointerHandled.current = false;
      return;
    }
    // keyboard (Space / Enter) or assistive technology: toggle
    if (latest.current.recording) latest.current.onStopRecording();
    else latest.current.onStartRecording();
  }

  function onKeyDown(event: KeyboardEvent<HTMLButtonElement>) {
    if (event.key === " " || event.key === "Enter") pointerHandled.current = false;
  }

  return (
    <>
      <button
        type="button"
        className="icon-button mic"
        aria-label="Record voice message"
        aria-pressed={voice.recording}
        title={voice.recording ? "Recording: release, or press again, to send" : "Hold to talk, or press to start and again to send"}
        disabled={voice.inCall}
        onPointerDown={onPointerDown}
        onPointerUp={release}
        onPointerLeave={release}
        onPointerCancel={release}
        onContextMenu={(event) => event.preventDefault()}
        onKeyDown={onKeyDown}
        onClick={onClick}
      >
        <MicIcon />
      </button>
      <button
        type="button"
        className="icon-button call"
        aria-label="Call"
        aria-pressed={voice.inCall}
        title={voice.inCall ? "End the call" : "Call June: talk hands-free"}
        disabled={voice.recording}
        onClick={() => voice.onCall(!voice.inCall)}
      >
        <PhoneIcon />
      </button>
    </>
  );
}
