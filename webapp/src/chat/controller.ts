/**
 * The open conversation: its messages, its realtime socket, its audio.
 *
 * A plain class (no React) so the protocol flow can be tested without a DOM:
 * the app subscribes to its state (`useSyncExternalStore`) and calls its
 * actions. One socket per open conversation; `open(null)` starts a new
 * conversation, whose id arrives with the first `turn.done`.
 */

import { listMessages } from "../api/conversations";
import { describeError, describeStageError } from "../api/errors";
import { type Http, SESSION_EXPIRED, type TokenSource } from "../api/http";
import type { Source, StoredMessage } from "../api/types";
import { wavBlob } from "../audio/pcm";
import { PcmPlayer } from "../audio/player";
import type { Recorder, RecorderFactory } from "../audio/recorder";
import { type RecorderState, type RecorderStatus, isBusy, isError } from "../audio/recorderState";
import { type ClientEvent, RealtimeClient } from "../realtime/client";
import { type ReconnectStatus, Reconnector } from "../realtime/reconnect";

export type MessageStatus =
  /** The person's voice message, while they speak (the text is the live partial transcript). */
  | "speaking"
  /** A typed message sent; its turn has not started yet. */
  | "sending"
  /** The person's message, received (or stored). */
  | "sent"
  /** June's answer, still arriving. */
  | "streaming"
  /** June's answer, complete (and stored). */
  | "done"
  /** June's answer, stopped before its end. */
  | "stopped"
  /** Not sent, or the answer failed. */
  | "failed"
  /** The connection dropped while it arrived (the stored answer comes back on reconnect). */
  | "interrupted";

export interface ChatMessage {
  /** Stable React key. */
  key: string;
  /** The stored message's id, once known. */
  id: string | null;
  role: string;
  text: string;
  /** ISO 8601. */
  createdAt: string;
  turnId: string | null;
  status: MessageStatus;
  sources: Source[];
  /** Seconds of this answer's speech played (or queued to play) here. */
  audioSeconds: number;
  /** A playable copy (object URL of a WAV Blob): the person's recording, or June's whole answer. */
  audioUrl?: string;
}

/** Voice input: none, a voice message (push-to-talk), or a hands-free call. */
export type VoiceMode = "off" | "message" | "call";
export type CallStatus = "Listening" | "Thinking" | "Speaking";

/** The input the recorder produces (16 kHz mono s16le). */
export const PCM_INPUT = { format: "pcm16", sample_rate: 16000, channels: 1 } as const;

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface ChatState {
  /** Whether a conversation (an existing one, or a new one) is open. */
  isOpen: boolean;
  /** The open conversation's id; null for a new one until its first answer is stored. */
  conversationId: string | null;
  messages: ChatMessage[];
  loading: boolean;
  /** Older messages exist than those loaded. */
  hasEarlier: boolean;
  connection: ConnectionStatus;
  /** "Connecting…", "Reconnecting…", "Reconnected", or null. */
  notice: string | null;
  /** June is answering (a typed message waits for its turn, or a turn is in progress). */
  answering: boolean;
  /** Answer audio is playing or queued. */
  playing: boolean;
  speaker: boolean;
  /** What the person is saying, when no bubble of theirs shows it. */
  partialTranscript: string;
  voice: VoiceMode;
  /** The microphone's state. */
  recorder: RecorderStatus;
  /** In a call: what June is doing; null otherwise. */
  callStatus: CallStatus | null;
}

export interface ChatDeps {
  tokens: TokenSource;
  http: Http;
  client?: RealtimeClient;
  player?: PcmPlayer;
  storage?: Storage | null;
  /** Show an error in the alert region. */
  onError(message: string): void;
  /** An answer was stored in conversation `id` (new or not): refresh the list. */
  onSaved?(id: string): void;
  /** The open conversation no longer exists (4404). */
  onGone?(id: string | null): void;
  /** The microphone (none: voice input is unavailable). */
  createRecorder?: RecorderFactory;
  /** Blob → URL for an `<audio>` element (default: URL.createObjectURL). */
  createObjectUrl?(blob: Blob): string;
  revokeObjectUrl?(url: string): void;
}

export const SPEAKER_KEY = "june.speaker";
const PAGE = 100;
const RECONNECTED_NOTICE_MS = 4000;

let counter = 0;
function localKey(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function fromStored(message: StoredMessage): ChatMessage {
  return {
    key: message.id,
    id: message.id,
    role: message.role,
    text: message.text,
    createdAt: message.created_at ?? new Date().toISOString(),
    turnId: null,
    status: message.role === "user" ? "sent" : "done",
    sources: Array.isArray(message.sources) ? message.sources : [],
    audioSeconds: 0,
  };
}

/** A message made here (not loaded): the person's words or June's answer as it arrives. */
function newMessage(
  role: "user" | "assistant",
  key: string,
  text: string,
  turnId: string | null,
  status: MessageStatus,
): ChatMessage {
  return {
    key,
    id: null,
    role,
    text,
    createdAt: new Date().toISOString(),
    turnId,
    status,
    sources: [],
    audioSeconds: 0,
  };
}

function visible(message: StoredMessage): boolean {
  return message.role === "user" || message.role === "assistant";
}

export class ChatController {
  private readonly deps: ChatDeps;
  readonly client: RealtimeClient;
  readonly player: PcmPlayer;
  private readonly reconnector: Reconnector;
  private readonly listeners = new Set<() => void>();
  private snapshot: ChatState;
  /** Bumped on every open/close, so late answers of a previous conversation are ignored. */
  private generation = 0;
  private activeTurn: string | null = null;
  /** Keys of typed messages waiting for their `transcript.final`, oldest first. */
  private pendingSends: string[] = [];
  private earlierCursor: string | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  private recorder: Recorder | null = null;
  /** The person's bubble while they speak (until its `transcript.final`). */
  private voiceKey: string | null = null;
  /** The voice message whose recording's copy is still to come. */
  private recordingKey: string | null = null;
  /** Turns some answer audio arrived for. */
  private readonly audioTurns = new Set<string>();
  private objectUrls: string[] = [];

  constructor(deps: ChatDeps) {
    this.deps = deps;
    this.client = deps.client ?? new RealtimeClient();
    this.player = deps.player ?? new PcmPlayer();
    const speaker = this.readSpeaker();
    this.player.setEnabled(speaker);
    this.snapshot = {
      isOpen: false,
      conversationId: null,
      messages: [],
      loading: false,
      hasEarlier: false,
      connection: "idle",
      notice: null,
      answering: false,
      playing: false,
      speaker,
      partialTranscript: "",
      voice: "off",
      recorder: "idle",
      callStatus: null,
    };
    this.reconnector = new Reconnector({
      connect: () => this.connect(),
      refreshToken: () => this.deps.tokens.refresh(),
      signInNeeded: () => this.deps.tokens.expire(SESSION_EXPIRED),
      notFound: () => this.gone(),
      onStatus: (status) => this.onStatus(status),
    });
    this.client.on((event) => this.onEvent(event));
    this.player.onPlayingChange((playing) => this.set({ playing }));
  }

  // ---- voice ------------------------------------------------------------------

  /** Start a voice message (push-to-talk): only its commit ends the utterance. */
  startVoiceMessage(): void {
    if (this.snapshot.voice !== "off") return;
    const recorder = this.ensureRecorder();
    if (!recorder || isBusy(recorder.state)) return;
    this.player.unlock();
    if (!this.client.sessionUpdate({ input: { ...PCM_INPUT }, vad: false })) {
      this.deps.onError("Not connected to June, so nothing can be recorded. Please try again in a moment.");
      return;
    }
    const key = localKey("voice");
    this.voiceKey = key;
    this.recordingKey = key;
    this.set({
      voice: "message",
      partialTranscript: "",
      messages: [...this.snapshot.messages, this.personBubble(key, "", "speaking")],
    });
    void recorder.start();
  }

  /** Stop the voice message: the last audio, then `input_audio.commit` (the server transcribes and answers). */
  stopVoiceMessage(): void {
    if (this.snapshot.voice !== "message" || !this.recorder) return;
    const recorder = this.recorder;
    const recording = recorder.state.status === "recording";
    const done = recorder.stop(); // sends its last chunk before returning
    this.set({ voice: "off" });
    const key = this.recordingKey;
    if (!recording) {
      // stopped before the microphone opened: nothing was sent
      this.removeEmptyBubble(key);
      this.voiceKey = null;
      this.recordingKey = null;
      return;
    }
    this.client.commitAudio();
    this.set({
      messages: this.snapshot.messages.map((m) => (m.key === key && m.status === "speaking" ? { ...m, status: "sending" } : m)),
    });
    void done.then((blob) => {
      if (this.recordingKey === key) this.recordingKey = null;
      if (blob && key) this.attachAudio(key, blob);
    });
  }

  toggleVoiceMessage(): void {
    if (this.snapshot.voice === "message") this.stopVoiceMessage();
    else this.startVoiceMessage();
  }

  /** Start a hands-free call: the microphone streams, the server's VAD ends each utterance. */
  startCall(): void {
    if (this.snapshot.voice !== "off") return;
    const recorder = this.ensureRecorder();
    if (!recorder || isBusy(recorder.state)) return;
    this.player.unlock();
    if (!this.client.sessionUpdate({ input: { ...PCM_INPUT }, vad: true })) {
      this.deps.onError("Not connected to June, so the call could not start. Please try again in a moment.");
      return;
    }
    this.voiceKey = null;
    this.set({ voice: "call", partialTranscript: "" });
    void recorder.start();
  }

  /** End the call: the microphone closes (every track) and the session goes back to push-to-talk. */
  endCall(): void {
    if (this.snapshot.voice !== "call") return;
    this.set({ voice: "off" });
    void this.recorder?.stop();
    this.client.sessionUpdate({ vad: false });
    this.removeEmptyBubble(this.voiceKey);
    this.voiceKey = null;
  }

  private ensureRecorder(): Recorder | null {
    if (this.recorder) return this.recorder;
    if (!this.deps.createRecorder) {
      this.deps.onError("June cannot use the microphone: this browser cannot record audio.");
      return null;
    }
    this.recorder = this.deps.createRecorder({
      onChunk: (chunk) => {
        if (this.snapshot.voice !== "off") this.client.sendAudio(chunk);
      },
      onState: (state) => this.onRecorderState(state),
    });
    return this.recorder;
  }

  private onRecorderState(state: RecorderState): void {
    this.set({ recorder: state.status });
    if (!isError(state)) return;
    this.deps.onError(`June cannot use the microphone: ${state.error ?? "it could not be opened."}`);
    const wasCall = this.snapshot.voice === "call";
    this.removeEmptyBubble(this.voiceKey);
    this.voiceKey = null;
    this.recordingKey = null;
    this.set({ voice: "off" });
    if (wasCall) this.client.sessionUpdate({ vad: false });
  }

  private personBubble(key: string, text: string, status: MessageStatus): ChatMessage {
    return newMessage("user", key, text, null, status);
  }

  /** Show the live transcript in the person's bubble (made when a call hears them first). */
  private onPartial(text: string): void {
    if (this.snapshot.voice === "off" && !this.voiceKey) {
      this.set({ partialTranscript: text });
      return;
    }
    const key = this.voiceKey ?? localKey("said");
    const exists = this.snapshot.messages.some((m) => m.key === key);
    this.voiceKey = key;
    this.set({
      partialTranscript: "",
      messages: exists
        ? this.snapshot.messages.map((m) => (m.key === key ? { ...m, text } : m))
        : [...this.snapshot.messages, this.personBubble(key, text, "speaking")],
    });
  }

  private removeEmptyBubble(key: string | null): void {
    if (!key) return;
    this.set({ messages: this.snapshot.messages.filter((m) => !(m.key === key && !m.text && m.turnId === null)) });
  }

  private objectUrl(blob: Blob): string | null {
    const create = this.deps.createObjectUrl ?? globalThis.URL?.createObjectURL?.bind(URL);
    if (!create) return null;
    try {
      const url = create(blob);
      this.objectUrls.push(url);
      return url;
    } catch {
      return null;
    }
  }

  private attachAudio(key: string, blob: Blob): void {
    if (!this.snapshot.messages.some((m) => m.key === key)) return;
    const url = this.objectUrl(blob);
    if (!url) return;
    this.set({ messages: this.snapshot.messages.map((m) => (m.key === key ? { ...m, audioUrl: url } : m)) });
  }

  private revokeUrls(): void {
    const revoke = this.deps.revokeObjectUrl ?? globalThis.URL?.revokeObjectURL?.bind(URL);
    for (const url of this.objectUrls) {
      try {
        revoke?.(url);
      } catch {
        // ignore
      }
    }
    this.objectUrls = [];
  }

  private computeCallStatus(state: ChatState): CallStatus | null {
    if (state.voice !== "call") return null;
    if (this.player.playing) return "Speaking";
    if (this.activeTurn) return this.audioTurns.has(this.activeTurn) ? "Speaking" : "Thinking";
    return "Listening";
  }

  // ---- React glue ---------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatState => this.snapshot;

  // ---- actions ------------------------------------------------------------------

  /** Open a conversation (null: a new one) and its socket. */
  open(conversationId: string | null): void {
    this.teardown();
    const generation = this.generation;
    this.set({
      isOpen: true,
      conversationId,
      messages: [],
      loading: conversationId !== null,
      hasEarlier: false,
      partialTranscript: "",
    });
    if (conversationId) void this.load(generation, "replace");
    this.reconnector.start();
  }

  /** Close the open conversation (its socket and audio). */
  close(): void {
    this.teardown();
    this.set({ isOpen: false, conversationId: null, messages: [], loading: false, hasEarlier: false, connection: "idle" });
  }

  /** Send a typed message; false if it could not be sent (not connected, empty). */
  send(text: string): boolean {
    const trimmed = text.trim();
    if (!trimmed) return false;
    this.player.unlock();
    if (!this.client.sendText(text)) {
      this.deps.onError("Not connected to June, so the message was not sent. Please try again in a moment.");
      return false;
    }
    const key = localKey("sent");
    this.pendingSends.push(key);
    this.set({
      messages: [
        ...this.snapshot.messages,
        newMessage("user", key, text, null, "sending"),
      ],
      answering: true,
    });
    return true;
  }

  /** Stop June's answer: cancel it on the server and stop what plays here. */
  stop(): void {
    this.client.cancel();
    if (this.activeTurn) {
      this.client.dropTurn(this.activeTurn);
      this.player.stopTurn(this.activeTurn);
    }
    this.player.stopAll();
  }

  setSpeaker(on: boolean): void {
    this.player.setEnabled(on);
    if (on) this.player.unlock();
    try {
      this.deps.storage?.setItem(SPEAKER_KEY, on ? "on" : "off");
    } catch {
      // not remembered: fine
    }
    this.set({ speaker: on });
  }

  /** Reconnect now instead of waiting for the backoff (the browser is back online). */
  retryNow(): void {
    this.reconnector.retryNow();
  }

  /** Resume audio after a user gesture (browsers need one before sound plays). */
  unlockAudio(): void {
    this.player.unlock();
  }

  /** Load the page of messages before the oldest one shown. */
  async loadEarlier(): Promise<void> {
    if (!this.snapshot.conversationId || !this.earlierCursor) return;
    await this.load(this.generation, "earlier");
  }

  /** Read the conversation's messages again (e.g. after a reconnect). */
  async reload(): Promise<void> {
    if (!this.snapshot.conversationId) return;
    await this.load(this.generation, "replace");
  }

  /** Sign-out: close everything. */
  dispose(): void {
    this.close();
    this.player.close();
    this.recorder = null;
  }

  // ---- internals ---------------------------------------------------------------

  private connect(): void {
    const token = this.deps.tokens.accessToken();
    if (!token) {
      this.reconnector.stop();
      return;
    }
    this.client.connect(token, this.snapshot.conversationId);
  }

  private teardown(): void {
    this.generation += 1;
    if (this.recorder && isBusy(this.recorder.state)) void this.recorder.stop();
    this.voiceKey = null;
    this.recordingKey = null;
    this.audioTurns.clear();
    this.revokeUrls();
    this.reconnector.stop();
    this.client.close();
    this.player.stopAll();
    this.activeTurn = null;
    this.pendingSends = [];
    this.earlierCursor = null;
    this.clearNotice();
    this.set({ answering: false, notice: null, connection: "idle", partialTranscript: "", voice: "off" });
  }

  private async load(generation: number, mode: "replace" | "earlier"): Promise<void> {
    const id = this.snapshot.conversationId;
    if (!id) return;
    const known = new Set(this.snapshot.messages.map((m) => m.key));
    try {
      const page = await listMessages(this.deps.http, id, {
        limit: PAGE,
        before: mode === "earlier" ? this.earlierCursor : null,
      });
      if (generation !== this.generation || id !== this.snapshot.conversationId) return;
      const stored = page.data.filter(visible).map(fromStored);
      this.earlierCursor = page.has_more ? page.next_before : null;
      if (mode === "earlier") {
        this.set({ messages: [...stored, ...this.snapshot.messages], hasEarlier: page.has_more });
        return;
      }
      // Keep what happened here while the page was loading (a message sent, an answer arriving).
      const ids = new Set(stored.map((m) => m.id));
      const recent = this.snapshot.messages.filter(
        (m) => !known.has(m.key) && (m.id === null || !ids.has(m.id)),
      );
      this.set({ messages: [...stored, ...recent], hasEarlier: page.has_more, loading: false });
    } catch (error) {
      if (generation !== this.generation) return;
      this.set({ loading: false });
      this.deps.onError(describeError(error));
    }
  }

  private onStatus(status: ReconnectStatus): void {
    switch (status) {
      case "connecting":
        this.set({ connection: "connecting", notice: "Connecting…" });
        break;
      case "connected":
        this.clearNotice();
        this.set({ connection: "open", notice: null });
        break;
      case "reconnecting":
      case "refreshing":
        this.clearNotice();
        this.set({ connection: "reconnecting", notice: "Reconnecting…" });
        break;
      case "reconnected":
        this.set({ connection: "open", notice: "Reconnected" });
        this.clearNotice();
        this.noticeTimer = setTimeout(() => {
          this.noticeTimer = null;
          if (this.snapshot.notice === "Reconnected") this.set({ notice: null });
        }, RECONNECTED_NOTICE_MS);
        // an answer may have been stored while the socket was down
        void this.reload();
        break;
      case "stopped":
        break;
    }
  }

  private gone(): void {
    const id = this.snapshot.conversationId;
    this.deps.onError("This conversation no longer exists (it may have been deleted).");
    this.close();
    this.deps.onGone?.(id);
  }

  private onEvent(event: ClientEvent): void {
    switch (event.type) {
      case "open":
        // pcm16 is what the player plays; the server answers with session.started
        // (in a call, a new socket must hear the microphone again)
        this.client.sessionUpdate(
          this.snapshot.voice === "call"
            ? { output: { format: "pcm16" }, input: { ...PCM_INPUT }, vad: true }
            : { output: { format: "pcm16" } },
        );
        break;
      case "session.started":
        this.reconnector.established();
        if (event.conversation_id) this.adopt(event.conversation_id);
        break;
      case "speech.started":
        break;
      case "transcript.partial":
        this.onPartial(event.text);
        break;
      case "transcript.final":
        this.onTranscriptFinal(event.turn_id, event.text);
        break;
      case "answer.delta":
        this.updateAnswer(event.turn_id, (m) => ({ ...m, text: m.text + event.text }));
        break;
      case "audio.start":
        break;
      case "audio":
        this.audioTurns.add(event.turn_id);
        this.set({});
        if (this.snapshot.speaker) {
          this.player.play(event.turn_id, event.data, event.format);
          const seconds =
            event.data.byteLength / (2 * (event.format.channels || 1) * event.format.sample_rate);
          this.updateAnswer(event.turn_id, (m) => ({ ...m, audioSeconds: m.audioSeconds + seconds }));
        }
        break;
      case "turn.done": {
        this.updateAnswer(event.turn_id, (m) => ({
          ...m,
          id: event.message_id || m.id,
          text: event.text || m.text,
          status: "done",
          sources: Array.isArray(event.sources) ? event.sources : m.sources,
        }));
        this.offerAnswerAudio(event.turn_id);
        this.endTurn(event.turn_id);
        if (event.conversation_id) {
          this.adopt(event.conversation_id);
          this.deps.onSaved?.(event.conversation_id);
        }
        break;
      }
      case "turn.cancelled":
        this.player.stopTurn(event.turn_id);
        if (event.reason === "resumed") {
          // an answer started in a pause, and the person went on: nothing of it stays
          this.set({
            messages: this.snapshot.messages.filter((m) => m.turnId !== event.turn_id),
          });
        } else {
          this.updateAnswer(event.turn_id, (m) => ({ ...m, status: "stopped" }), false);
        }
        this.endTurn(event.turn_id);
        break;
      case "audio.stop":
        this.player.stopTurn(event.turn_id);
        break;
      case "error":
        this.onError(event);
        break;
      case "ping":
      case "pong":
      case "unknown":
        break;
      case "close":
        this.onClose(event.code, event.intentional);
        break;
    }
  }

  private onTranscriptFinal(turnId: string, text: string): void {
    const messages = [...this.snapshot.messages];
    const pendingKey = this.pendingSends.shift();
    const index = pendingKey ? messages.findIndex((m) => m.key === pendingKey) : -1;
    const voiceIndex = !pendingKey && this.voiceKey ? messages.findIndex((m) => m.key === this.voiceKey) : -1;
    if (index >= 0) {
      messages[index] = { ...messages[index], turnId, status: "sent" };
    } else if (voiceIndex >= 0) {
      messages[voiceIndex] = { ...messages[voiceIndex], text, turnId, status: "sent" };
    } else {
      messages.push(newMessage("user", localKey("said"), text, turnId, "sent"));
    }
    messages.push(newMessage("assistant", `turn-${turnId}`, "", turnId, "streaming"));
    const saidKey = voiceIndex >= 0 ? messages[voiceIndex].key : messages[messages.length - 2].key;
    if (!pendingKey) this.voiceKey = null;
    this.activeTurn = turnId;
    this.set({ messages, answering: true, partialTranscript: "" });
    if (!pendingKey && this.snapshot.voice === "call" && this.recorder) {
      // in a call, what was recorded since the last utterance is this one's copy
      const blob = this.recorder.takeRecording();
      if (blob) this.attachAudio(saidKey, blob);
    }
  }

  /** The whole answer of a finished turn, as a WAV to replay. */
  private offerAnswerAudio(turnId: string): void {
    const audio = this.player.turnAudio(turnId);
    this.player.releaseTurnAudio(turnId);
    this.audioTurns.delete(turnId);
    if (!audio || audio.pcm.length === 0) return;
    const index = this.snapshot.messages.findIndex((m) => m.role === "assistant" && m.turnId === turnId);
    if (index < 0) return;
    this.attachAudio(this.snapshot.messages[index].key, wavBlob(audio.pcm, audio.sampleRate, audio.channels));
  }

  /** Change the answer bubble of `turnId` (made if missing and `create`). */
  private updateAnswer(turnId: string, change: (m: ChatMessage) => ChatMessage, create = true): void {
    const messages = [...this.snapshot.messages];
    const index = messages.findIndex((m) => m.role === "assistant" && m.turnId === turnId);
    if (index >= 0) {
      messages[index] = change(messages[index]);
    } else if (create) {
      messages.push(change(newMessage("assistant", `turn-${turnId}`, "", turnId, "streaming")));
    } else {
      return;
    }
    this.set({ messages });
  }

  private endTurn(turnId: string): void {
    if (this.activeTurn === turnId) this.activeTurn = null;
    this.set({ answering: this.activeTurn !== null || this.pendingSends.length > 0 });
  }

  private onError(event: { stage: string; code: string; message: string; turn_id?: string }): void {
    // A refused token is followed by close 4401 (refreshed, or back to sign-in) and an
    // unknown conversation by 4404 (said there): no alert of their own.
    if (event.stage === "auth" || (event.stage === "session" && event.code === "not_found")) return;
    if (event.stage === "stt" && event.code === "no_speech") {
      this.deps.onError("No speech was heard");
      const key = this.voiceKey ?? this.recordingKey;
      this.set({
        messages: this.snapshot.messages.filter((m) => !(m.key === key && m.turnId === null)),
      });
      if (this.voiceKey === key) this.voiceKey = null;
      return;
    }
    this.deps.onError(describeStageError(event));
    if (event.turn_id && event.stage === "llm") {
      // the llm stage failing ends its turn
      this.player.stopTurn(event.turn_id);
      this.updateAnswer(event.turn_id, (m) => ({ ...m, status: "failed" }), false);
      this.endTurn(event.turn_id);
      return;
    }
    if (!event.turn_id && event.stage === "session" && this.pendingSends.length > 0) {
      // the typed message was refused (rate limit, invalid): it never became a turn
      const key = this.pendingSends.shift();
      this.set({
        messages: this.snapshot.messages.map((m) => (m.key === key ? { ...m, status: "failed" } : m)),
      });
      this.set({ answering: this.activeTurn !== null || this.pendingSends.length > 0 });
    }
  }

  private onClose(code: number, intentional: boolean): void {
    if (intentional) return;
    // The server finishes and stores a turn whose socket dropped; the reload after
    // reconnecting shows it. Until then, nothing is answering on this socket.
    this.activeTurn = null;
    const messages = this.snapshot.messages.map((m): ChatMessage => {
      if (m.status === "sending") return { ...m, status: "sent" };
      if (m.status === "streaming") return { ...m, status: "interrupted" };
      return m;
    });
    this.pendingSends = [];
    this.set({ messages, answering: false, partialTranscript: "" });
    if (this.snapshot.voice === "message") {
      // the recording cannot reach June any more
      void this.recorder?.stop();
      this.removeEmptyBubble(this.voiceKey);
      this.voiceKey = null;
      this.recordingKey = null;
      this.set({ voice: "off" });
    }
    this.reconnector.closed(code, intentional);
  }

  /** A new conversation got its id: keep it for reconnects (the socket stays). */
  private adopt(conversationId: string): void {
    if (this.snapshot.conversationId === conversationId) return;
    if (this.snapshot.conversationId === null) this.set({ conversationId });
  }

  private readSpeaker(): boolean {
    try {
      return this.deps.storage?.getItem(SPEAKER_KEY) !== "off";
    } catch {
      return true;
    }
  }

  private clearNotice(): void {
    if (this.noticeTimer !== null) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
  }

  private set(patch: Partial<ChatState>): void {
    const next = { ...this.snapshot, ...patch };
    next.callStatus = this.computeCallStatus(next);
    this.snapshot = next;
    for (const listener of [...this.listeners]) listener();
  }
}
