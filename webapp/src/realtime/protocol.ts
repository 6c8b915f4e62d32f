/**
 * The realtime protocol's messages (docs/realtime.md), as types.
 *
 * Text frames are JSON objects with a `type`; binary frames are audio. From
 * the server, a binary frame is the next bytes of the answer audio of the
 * turn announced by the last `audio.start`.
 */

import type { Source } from "../api/types";

export const SUBPROTOCOL = "june.v1";
export const TOKEN_PROTOCOL_PREFIX = "june.token.";

/** Close codes the gateway uses (4000-4999 are the application's). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_RATE_LIMITED = 4429;

export type Stage = "stt" | "llm" | "tts" | "session" | "auth";
export type StopReason = "barge_in" | "client" | "replaced" | "resumed";

export interface InputSpec {
  format: "pcm16" | "encoded";
  sample_rate: number;
  channels: number;
}

export interface OutputSpec {
  format: "pcm16" | "wav" | "opus" | "mp3";
  /** 0: the voice's own rate. */
  sample_rate: number;
  voice: string;
}

// ---- server → client -------------------------------------------------------

export interface SessionStartedEvent {
  type: "session.started";
  session_id: string;
  /** Empty until the first turn of a new conversation is stored (then in `turn.done`). */
  conversation_id: string;
  input: InputSpec;
  output: OutputSpec;
  vad: boolean;
  max_tokens: number;
}

export interface SpeechStartedEvent {
  type: "speech.started";
  utterance: number;
}

export interface TranscriptPartialEvent {
  type: "transcript.partial";
  text: string;
  utterance?: number;
}

export interface TranscriptFinalEvent {
  type: "transcript.final";
  turn_id: string;
  text: string;
}

export interface AnswerDeltaEvent {
  type: "answer.delta";
  turn_id: string;
  text: string;
}

export interface AudioStartEvent {
  type: "audio.start";
  turn_id: string;
  format: OutputSpec["format"];
  sample_rate: number;
  channels: number;
}

export interface TurnDoneEvent {
  type: "turn.done";
  turn_id: string;
  conversation_id: string;
  message_id: string;
  transcript: string;
  text: string;
  timings: Record<string, number>;
  /** The document chunks the answer drew on, with their documents' names (absent or empty: none). */
  sources?: Source[];
}

export interface TurnCancelledEvent {
  type: "turn.cancelled";
  turn_id: string;
  reason: StopReason;
}

export interface AudioStopEvent {
  type: "audio.stop";
  turn_id: string;
  reason: StopReason;
}

export interface ErrorEvent {
  type: "error";
  stage: Stage;
  code: string;
  message: string;
  /** The turn it ends or concerns; absent or empty for a session-wide error. */
  turn_id?: string;
}

export interface PingEvent {
  type: "ping";
  time?: number;
}

export interface PongEvent {
  type: "pong";
  time?: number;
}

export type ServerEvent =
  | SessionStartedEvent
  | SpeechStartedEvent
  | TranscriptPartialEvent
  | TranscriptFinalEvent
  | AnswerDeltaEvent
  | AudioStartEvent
  | TurnDoneEvent
  | TurnCancelledEvent
  | AudioStopEvent
  | ErrorEvent
  | PingEvent
  | PongEvent;

export const SERVER_EVENT_TYPES: ReadonlySet<ServerEvent["type"]> = new Set([
  "session.started",
  "speech.started",
  "transcript.partial",
  "transcript.final",
  "answer.delta",
  "audio.start",
  "turn.done",
  "turn.cancelled",
  "audio.stop",
  "error",
  "ping",
  "pong",
]);

// ---- client → server -------------------------------------------------------

export interface SessionUpdateMessage {
  type: "session.update";
  input?: Partial<InputSpec>;
  output?: Partial<OutputSpec>;
  vad?: boolean;
  max_tokens?: number;
}

export type ClientMessage =
  | SessionUpdateMessage
  | { type: "text"; text: string }
  | { type: "input_audio.commit" }
  | { type: "cancel" }
  | { type: "ping" }
  | { type: "pong" };
