/**
 * The realtime protocol client: one WebSocket to `/v1/realtime`.
 *
 * It parses the server's frames into typed events, attributes each binary
 * audio frame to the turn of the last `audio.start`, drops the audio of a turn
 * once it is cancelled or stopped (`turn.cancelled`, `audio.stop`, or locally
 * with {@link RealtimeClient.dropTurn}), answers `ping` with `pong`, and notices
 * a connection that went silent. Reconnecting is not its job: it reports the
 * close (code, and whether the app asked for it) and `reconnect.ts` decides.
 */

import {
  type AudioStartEvent,
  type ClientMessage,
  type ServerEvent,
  type SessionUpdateMessage,
  SERVER_EVENT_TYPES,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
} from "./protocol";

/** The part of the browser's WebSocket the client uses (a fake one in tests). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

const OPEN = 1;

/** A piece of a turn's answer audio, with the format its `audio.start` announced. */
export interface AudioFrameEvent {
  type: "audio";
  turn_id: string;
  data: ArrayBuffer;
  format: AudioStartEvent;
}

export interface OpenEvent {
  type: "open";
}

export interface CloseInfo {
  type: "close";
  code: number;
  reason: string;
  /** True when the app closed the socket itself (not a reason to reconnect). */
  intentional: boolean;
}

/** A text frame that is not a known event (logged, otherwise ignored). */
export interface UnknownFrameEvent {
  type: "unknown";
  raw: string;
}

export type ClientEvent = ServerEvent | AudioFrameEvent | OpenEvent | CloseInfo | UnknownFrameEvent;
export type Listener = (event: ClientEvent) => void;

export type ConnectionState = "idle" | "connecting" | "open" | "closed";

/** The close code the client reports when the server fell silent (no ping for too long). */
export const CLOSE_HEARTBEAT_TIMEOUT = 4000;

export interface RealtimeClientOptions {
  createSocket?: WebSocketFactory;
  /** Where the page is served from (to build `ws(s)://host/v1/realtime`). */
  location?: { protocol: string; host: string };
  /** Close and report the socket if nothing arrives for this long (the server pings every 20 s); 0: never. */
  idleTimeoutMs?: number;
}

/** `ws(s)://<same host>/v1/realtime[?conversation_id=…]`. */
export function realtimeUrl(location: { protocol: string; host: string }, conversationId?: string | null): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = conversationId ? `?conversation_id=${encodeURIComponent(conversationId)}` : "";
  return `${scheme}//${location.host}/v1/realtime${query}`;
}

/** The subprotocol pair that carries the token (browsers cannot set headers on a WebSocket). */
export function tokenProtocols(token: string): string[] {
  return [SUBPROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`];
}

const defaultFactory: WebSocketFactory = (url, protocols) => new WebSocket(url, protocols) as WebSocketLike;

function parse(raw: string): ServerEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !SERVER_EVENT_TYPES.has(type as ServerEvent["type"])) return null;
  return value as ServerEvent;
}

function toArrayBuffer(data: unknown): ArrayBuffer | null {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) {
    const view = data as ArrayBufferView;
    return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
  }
  return null;
}

export class RealtimeClient {
  private socket: WebSocketLike | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly createSocket: WebSocketFactory;
  private readonly location: { protocol: string; host: string };
  private readonly idleTimeoutMs: number;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** The format of the turn whose audio the next binary frames are. */
  private audioTurn: AudioStartEvent | null = null;
  private readonly droppedTurns = new Set<string>();
  private connectionState: ConnectionState = "idle";
  /** The session's conversation (from `session.started`, then every `turn.done`). */
  conversationId: string | null = null;
  sessionId: string | null = null;

  constructor(options: RealtimeClientOptions = {}) {
    this.createSocket = options.createSocket ?? defaultFactory;
    this.location = options.location ?? globalThis.location;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  }

  get state(): ConnectionState {
    return this.connectionState;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Open a socket (closing any previous one without reporting it), for `conversationId` or a new conversation. */
  connect(token: string, conversationId: string | null): void {
    this.detach();
    this.audioTurn = null;
    this.droppedTurns.clear();
    this.conversationId = conversationId;
    this.sessionId = null;
    this.connectionState = "connecting";
    const socket = this.createSocket(realtimeUrl(this.location, conversationId), tokenProtocols(token));
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.connectionState = "open";
      this.touch();
      this.emit({ type: "open" });
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => {
      // a close event always follows; that is where it is handled
    };
    socket.onclose = (event) => {
      this.socket = null;
      this.finish(event.code, event.reason, false);
    };
    this.socket = socket;
  }

  /** Close the socket on purpose (no reconnect follows). */
  close(code = 1000, reason = "closed by the app"): void {
    const socket = this.socket;
    if (!socket) return;
    this.detach();
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
    this.finish(code, reason, true);
  }

  // ---- sending ---------------------------------------------------------------

  send(message: ClientMessage): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  sessionUpdate(update: Omit<SessionUpdateMessage, "type">): boolean {
    return this.send({ type: "session.update", ...update });
  }

  /** A typed message, answered like speech. */
  sendText(text: string): boolean {
    return this.send({ type: "text", text });
  }

  /** Stop the current answer (generation and speech) at once. */
  cancel(): boolean {
    return this.send({ type: "cancel" });
  }

  /** End of speech now (push-to-talk released). */
  commitAudio(): boolean {
    return this.send({ type: "input_audio.commit" });
  }

  /** The next bytes of the person's speech. */
  sendAudio(data: ArrayBuffer | ArrayBufferView | Blob): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(data);
    return true;
  }

  ping(): boolean {
    return this.send({ type: "ping" });
  }

  /** Drop any further audio of this turn (the app stopped it locally). */
  dropTurn(turnId: string): void {
    if (turnId) this.droppedTurns.add(turnId);
  }

  // ---- receiving -------------------------------------------------------------

  private receive(data: unknown): void {
    this.touch();
    if (typeof data === "string") {
      this.receiveText(data);
      return;
    }
    const bytes = toArrayBuffer(data);
    const turn = this.audioTurn;
    if (!bytes || !turn || this.droppedTurns.has(turn.turn_id)) return;
    this.emit({ type: "audio", turn_id: turn.turn_id, data: bytes, format: turn });
  }

  private receiveText(raw: string): void {
    const event = parse(raw);
    if (!event) {
      this.emit({ type: "unknown", raw });
      return;
    }
    switch (event.type) {
      case "ping":
        this.send({ type: "pong" });
        break;
      case "session.started":
        this.sessionId = event.session_id;
        if (event.conversation_id) this.conversationId = event.conversation_id;
        break;
      case "audio.start":
        this.audioTurn = event;
        break;
      case "turn.done":
        if (event.conversation_id) this.conversationId = event.conversation_id;
        break;
      case "turn.cancelled":
      case "audio.stop":
        this.droppedTurns.add(event.turn_id);
        break;
      case "error":
        // an llm error ends its turn: nothing of it can follow, audio included
        if (event.stage === "llm" && event.turn_id) this.droppedTurns.add(event.turn_id);
        break;
      default:
        break;
    }
    this.emit(event);
  }

  private finish(code: number, reason: string, intentional: boolean): void {
    this.clearIdle();
    this.audioTurn = null;
    this.connectionState = "closed";
    this.emit({ type: "close", code, reason, intentional });
  }

  private detach(): void {
    this.clearIdle();
    const socket = this.socket;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    this.socket = null;
  }

  private touch(): void {
    if (this.idleTimeoutMs <= 0 || !this.socket) return;
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      // the server pings every 20 s: a silent socket is a dead one (e.g. the network went away)
      const socket = this.socket;
      this.detach();
      try {
        socket?.close(CLOSE_HEARTBEAT_TIMEOUT, "no heartbeat");
      } catch {
        // ignore
      }
      this.finish(CLOSE_HEARTBEAT_TIMEOUT, "the connection went silent", false);
    }, this.idleTimeoutMs);
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private emit(event: ClientEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error("realtime listener failed", error);
      }
    }
  }
}
