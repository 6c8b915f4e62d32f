/** Test doubles: a WebSocket the test drives, an AudioContext that records, a fetch that answers from a table. */

import type { WebSocketLike } from "../src/realtime/client";
import type { AudioContextLike } from "../src/audio/player";

export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  binaryType = "blob";
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly sent: (string | ArrayBufferLike | ArrayBufferView | Blob)[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  readonly url: string;
  readonly protocols: string[];

  constructor(url: string, protocols: string | string[] = []) {
    this.url = url;
    this.protocols = Array.isArray(protocols) ? protocols : [protocols];
    FakeWebSocket.instances.push(this);
  }

  static last(): FakeWebSocket {
    const socket = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!socket) throw new Error("no socket was opened");
    return socket;
  }

  static reset(): void {
    FakeWebSocket.instances = [];
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  /** The JSON messages the client sent. */
  sentJson(): Array<Record<string, unknown>> {
    return this.sent.filter((d): d is string => typeof d === "string").map((d) => JSON.parse(d));
  }

  // ---- the server's side ----

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  receive(event: Record<string, unknown>): void {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(event) }));
  }

  receiveRaw(data: string): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  receiveBinary(bytes: ArrayBuffer): void {
    // jsdom's MessageEvent keeps `data` as given
    this.onmessage?.({ data: bytes } as MessageEvent);
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: code !== 1006 } as CloseEvent);
  }
}

export function socketFactory() {
  return (url: string, protocols: string[]) => new FakeWebSocket(url, protocols);
}

/** Little-endian 16-bit samples as bytes. */
export function pcm(samples: number[]): ArrayBuffer {
  const buffer = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buffer);
  samples.forEach((s, i) => view.setInt16(i * 2, s, true));
  return buffer;
}

export class FakeSource {
  buffer: FakeAudioBuffer | null = null;
  startedAt: number | null = null;
  stopped = false;
  connected = false;
  onended: (() => void) | null = null;
  connect(): void {
    this.connected = true;
  }
  disconnect(): void {
    this.connected = false;
  }
  start(when = 0): void {
    this.startedAt = when;
  }
  stop(): void {
    this.stopped = true;
  }
  /** The buffer played to its end. */
  end(): void {
    this.onended?.();
  }
}

export class FakeAudioBuffer {
  readonly channels: Float32Array[];
  readonly numberOfChannels: number;
  readonly length: number;
  readonly sampleRate: number;
  constructor(channels: number, length: number, sampleRate: number) {
    this.numberOfChannels = channels;
    this.length = length;
    this.sampleRate = sampleRate;
    this.channels = Array.from({ length: channels }, () => new Float32Array(length));
  }
  get duration(): number {
    return this.length / this.sampleRate;
  }
  getChannelData(index: number): Float32Array {
    return this.channels[index];
  }
}

export class FakeAudioContext implements AudioContextLike {
  currentTime = 0;
  state = "suspended";
  readonly destination = {} as AudioNode;
  readonly sources: FakeSource[] = [];
  resumed = 0;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBuffer {
    return new FakeAudioBuffer(channels, length, sampleRate) as unknown as AudioBuffer;
  }
  createBufferSource(): AudioBufferSourceNode {
    const source = new FakeSource();
    this.sources.push(source);
    return source as unknown as AudioBufferSourceNode;
  }
  resume(): Promise<void> {
    this.resumed += 1;
    this.state = "running";
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.state = "closed";
    return Promise.resolve();
  }
  /** Sources not stopped. */
  live(): FakeSource[] {
    return this.sources.filter((s) => !s.stopped);
  }
}

export interface Route {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: { method: string; url: string; body: unknown; headers: Record<string, string> }) => Route;

/** A fetch answering from handlers keyed by "METHOD /path" (query ignored), recording every call. */
export function fakeFetch(routes: Record<string, Route | Handler>) {
  const calls: Array<{ method: string; url: string; body: unknown; headers: Record<string, string> }> = [];
  const fetchImpl = async (url: string, init: RequestInit = {}) => {
    const method = (init.method ?? "GET").toUpperCase();
    const headers = (init.headers ?? {}) as Record<string, string>;
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const call = { method, url, body, headers };
    calls.push(call);
    const path = url.split("?")[0];
    const route = routes[`${method} ${path}`];
    if (!route) {
      return new Response(JSON.stringify({ error: { code: "not_found", message: "no such endpoint" } }), {
        status: 404,
        headers: { "Content-Type": "application/json" },
      });
    }
    const answer = typeof route === "function" ? route(call) : route;
    const status = answer.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? {}), {
      status,
      headers: { "Content-Type": "application/json", ...(answer.headers ?? {}) },
    });
  };
  return { fetchImpl, calls };
}

/**
 * An XMLHttpRequest the test answers: it records what was sent (method, URL,
 * headers, the FormData body), and the test reports upload progress and
 * answers (`progress`, `respond`, `fail`). `FakeXMLHttpRequest.onSend` may
 * answer every request as it is sent.
 */
export class FakeXMLHttpRequest {
  static instances: FakeXMLHttpRequest[] = [];
  static onSend: ((xhr: FakeXMLHttpRequest) => void) | null = null;

  method = "";
  url = "";
  readonly headers: Record<string, string> = {};
  body: unknown = undefined;
  sent = false;
  done = false;
  aborted = false;
  status = 0;
  statusText = "";
  responseText = "";
  private responseHeaders: Record<string, string> = {};
  readonly upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXMLHttpRequest.instances.push(this);
  }

  static reset(): void {
    FakeXMLHttpRequest.instances = [];
    FakeXMLHttpRequest.onSend = null;
  }

  static last(): FakeXMLHttpRequest {
    const xhr = FakeXMLHttpRequest.instances[FakeXMLHttpRequest.instances.length - 1];
    if (!xhr) throw new Error("no XMLHttpRequest was made");
    return xhr;
  }

  /** Requests sent and not answered yet. */
  static pending(): FakeXMLHttpRequest[] {
    return FakeXMLHttpRequest.instances.filter((x) => x.sent && !x.done);
  }

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  getResponseHeader(name: string): string | null {
    return this.responseHeaders[name.toLowerCase()] ?? null;
  }

  send(body?: unknown): void {
    this.body = body;
    this.sent = true;
    FakeXMLHttpRequest.onSend?.(this);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.aborted = true;
    this.onabort?.();
  }

  /** The value of form field `name` of the body (a File for a file). */
  field(name: string): FormDataEntryValue | null {
    return this.body instanceof FormData ? this.body.get(name) : null;
  }

  // ---- the server's side ----

  progress(loaded: number, total: number): void {
    this.upload.onprogress?.({ lengthComputable: true, loaded, total } as ProgressEvent);
  }

  respond(status: number, body?: unknown, headers: Record<string, string> = {}): void {
    this.done = true;
    this.status = status;
    this.responseText = body === undefined ? "" : JSON.stringify(body);
    this.responseHeaders = { "content-type": "application/json" };
    for (const [name, value] of Object.entries(headers)) this.responseHeaders[name.toLowerCase()] = value;
    this.onload?.();
  }

  fail(): void {
    this.done = true;
    this.onerror?.();
  }
}

/** `new FakeXMLHttpRequest()` as the app's XMLHttpRequest factory. */
export const fakeXhr = () => new FakeXMLHttpRequest() as unknown as XMLHttpRequest;
