import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Http } from "../src/api/http";
import type { StoredMessage } from "../src/api/types";
import { PcmPlayer } from "../src/audio/player";
import { ChatController, fromStored } from "../src/chat/controller";
import { citedDocuments } from "../src/chat/sources";
import { RealtimeClient } from "../src/realtime/client";
import { FakeAudioContext, FakeWebSocket, type Route, fakeFetch, pcm, socketFactory } from "./fakes";

function message(id: string, role: string, text: string, at = "2025-01-01T10:00:00+00:00") {
  return { id, object: "conversation.message", role, text, created_at: at, timings: null, tokens_in: null, tokens_out: null, has_audio: false };
}

function setup(routes: Record<string, Route | ((r: never) => Route)> = {}) {
  const tokens = { accessToken: vi.fn(() => "ACCESS"), refresh: vi.fn(async () => true), expire: vi.fn() };
  const { fetchImpl, calls } = fakeFetch({
    "GET /v1/conversations/c1/messages": {
      body: { object: "list", data: [message("m1", "user", "hi"), message("m2", "assistant", "hello")], has_more: false, next_before: null },
    },
    ...(routes as Record<string, Route>),
  });
  const context = new FakeAudioContext();
  const errors: string[] = [];
  const saved: string[] = [];
  const gone: Array<string | null> = [];
  const controller = new ChatController({
    tokens,
    http: new Http(tokens, fetchImpl),
    client: new RealtimeClient({ createSocket: socketFactory(), location: { protocol: "http:", host: "h" }, idleTimeoutMs: 0 }),
    player: new PcmPlayer(() => context),
    storage: localStorage,
    onError: (m) => errors.push(m),
    onSaved: (id) => saved.push(id),
    onGone: (id) => gone.push(id),
  });
  return { controller, tokens, calls, context, errors, saved, gone, state: () => controller.getSnapshot() };
}

const started = (conversation_id = "c1") => ({
  type: "session.started",
  session_id: "s",
  conversation_id,
  input: { format: "pcm16", sample_rate: 16000, channels: 1 },
  output: { format: "pcm16", sample_rate: 22050, voice: "" },
  vad: true,
  max_tokens: 0,
});

async function openReady(t: ReturnType<typeof setup>, id: string | null = "c1") {
  t.controller.open(id);
  const socket = FakeWebSocket.last();
  socket.open();
  socket.receive(started(id ?? ""));
  await vi.waitFor(() => expect(t.state().loading).toBe(false));
  return socket;
}

beforeEach(() => FakeWebSocket.reset());
afterEach(() => vi.useRealTimers());

describe("ChatController", () => {
  it("opens the conversation: loads its messages and connects with its id, asking for pcm16", async () => {
    const t = setup();
    const socket = await openReady(t);
    expect(socket.url).toBe("ws://h/v1/realtime?conversation_id=c1");
    expect(socket.protocols).toEqual(["june.v1", "june.token.ACCESS"]);
    expect(socket.sentJson()[0]).toEqual({ type: "session.update", output: { format: "pcm16" } });
    expect(t.state().messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "hi"],
      ["assistant", "hello"],
    ]);
    expect(t.state().connection).toBe("open");
    expect(t.calls[0]).toMatchObject({ method: "GET", url: "/v1/conversations/c1/messages?limit=100" });
    expect(t.calls[0].headers.Authorization).toBe("Bearer ACCESS");
  });

  it("a typed message: its bubble, then June's answer streaming in, then the final text", async () => {
    const t = setup();
    const socket = await openReady(t);
    expect(t.controller.send("What time is it?")).toBe(true);
    expect(socket.sentJson().at(-1)).toEqual({ type: "text", text: "What time is it?" });
    expect(t.state().messages.at(-1)).toMatchObject({ role: "user", text: "What time is it?", status: "sending" });
    expect(t.state().answering).toBe(true);

    socket.receive({ type: "transcript.final", turn_id: "t1", text: "What time is it?" });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "It is" });
    expect(t.state().messages.slice(-2).map((m) => [m.role, m.text, m.status])).toEqual([
      ["user", "What time is it?", "sent"],
      ["assistant", "It is", "streaming"],
    ]);
    socket.receive({ type: "answer.delta", turn_id: "t1", text: " noon" });
    expect(t.state().messages.at(-1)?.text).toBe("It is noon");
    socket.receive({
      type: "turn.done", turn_id: "t1", conversation_id: "c1", message_id: "m9",
      transcript: "What time is it?", text: "It is noon.", timings: {},
    });
    expect(t.state().messages.at(-1)).toMatchObject({ text: "It is noon.", status: "done", id: "m9" });
    expect(t.state().answering).toBe(false);
    expect(t.saved).toEqual(["c1"]);
  });

  it("keeps the sources of turn.done and of stored messages (none: an empty list)", async () => {
    const sources = [
      { document_id: "d1", document_name: "Lease.pdf", chunk_index: 3, score: 0.61 },
      { document_id: "d2", document_name: "House rules.md", chunk_index: 0, score: 0.83 },
    ];
    const t = setup({
      "GET /v1/conversations/c1/messages": {
        body: {
          object: "list",
          data: [message("m1", "user", "rent?"), { ...message("m2", "assistant", "900 euros."), sources }, { ...message("m3", "assistant", "hm"), sources: null }],
          has_more: false,
          next_before: null,
        },
      },
    });
    const socket = await openReady(t);
    expect(t.state().messages.map((m) => m.sources)).toEqual([[], sources, []]);

    t.controller.send("and the deposit?");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "and the deposit?" });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "Two months." });
    expect(t.state().messages.at(-1)?.sources).toEqual([]);
    socket.receive({
      type: "turn.done", turn_id: "t1", conversation_id: "c1", message_id: "m9",
      transcript: "and the deposit?", text: "Two months.", timings: {}, sources: [sources[0]],
    });
    expect(t.state().messages.at(-1)).toMatchObject({ status: "done", sources: [sources[0]] });
    // an older gateway sends no sources: none shown
    expect(fromStored(message("m4", "assistant", "x") as StoredMessage).sources).toEqual([]);
  });

  it("names each cited document once, best score first", () => {
    expect(
      citedDocuments([
        { document_id: "d1", document_name: "Lease.pdf", chunk_index: 3, score: 0.61 },
        { document_id: "d2", document_name: "House rules.md", chunk_index: 0, score: 0.83 },
        { document_id: "d1", document_name: "Lease.pdf", chunk_index: 4, score: 0.9 },
        { document_id: "d3", document_name: "", chunk_index: 0, score: 0.2 },
      ]),
    ).toEqual([
      { id: "d1", name: "Lease.pdf" },
      { id: "d2", name: "House rules.md" },
      { id: "d3", name: "Untitled document" },
    ]);
    expect(citedDocuments([])).toEqual([]);
    expect(citedDocuments(undefined)).toEqual([]);
  });

  it("plays the turn's audio, and stops it on turn.cancelled and on audio.stop", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.send("hi");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hi" });
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2, 3]));
    socket.receiveBinary(pcm([4, 5, 6]));
    expect(t.context.live()).toHaveLength(2);
    expect(t.state().playing).toBe(true);
    expect(t.state().messages.at(-1)?.audioSeconds).toBeCloseTo(6 / 22050, 9); // shown on the bubble
    socket.receive({ type: "turn.cancelled", turn_id: "t1", reason: "barge_in" });
    expect(t.context.live()).toHaveLength(0);
    expect(t.state().messages.at(-1)?.status).toBe("stopped");
    expect(t.state().answering).toBe(false);

    socket.receive({ type: "transcript.final", turn_id: "t2", text: "again" });
    socket.receive({ type: "audio.start", turn_id: "t2", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2]));
    socket.receive({ type: "turn.done", turn_id: "t2", conversation_id: "c1", message_id: "m", transcript: "again", text: "ok", timings: {} });
    expect(t.context.live()).toHaveLength(1); // done, still playing
    socket.receive({ type: "audio.stop", turn_id: "t2", reason: "barge_in" });
    expect(t.context.live()).toHaveLength(0);
    expect(t.state().messages.at(-1)?.status).toBe("done"); // stored: not cancelled
  });

  it("Stop sends cancel and stops playback at once", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.send("hi");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hi" });
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2]));
    t.controller.stop();
    expect(socket.sentJson().at(-1)).toEqual({ type: "cancel" });
    expect(t.context.live()).toHaveLength(0);
    socket.receiveBinary(pcm([3, 4])); // in flight
    expect(t.context.live()).toHaveLength(0);
  });

  it("with the speaker off drops audio frames (and remembers the choice)", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.setSpeaker(false);
    expect(t.state().speaker).toBe(false);
    expect(localStorage.getItem("june.speaker")).toBe("off");
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2]));
    expect(t.context.sources).toHaveLength(0);
    expect(t.state().messages.every((m) => m.audioSeconds === 0)).toBe(true);
  });

  it("shows error events in plain words; an llm error ends its turn", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.send("hi");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hi" });
    socket.receive({ type: "error", stage: "tts", code: "unavailable", message: "speech synthesis is unavailable (the tts service: down)", turn_id: "t1" });
    expect(t.errors.at(-1)).toContain("speech synthesis (tts)");
    expect(t.errors.at(-1)).toContain("speech synthesis is unavailable (the tts service: down)");
    expect(t.state().answering).toBe(true); // a tts failure does not end the turn
    socket.receive({ type: "error", stage: "llm", code: "failed", message: "language model failed: boom", turn_id: "t1" });
    expect(t.errors.at(-1)).toContain("language model failed: boom");
    expect(t.state().answering).toBe(false);
    expect(t.state().messages.at(-1)?.status).toBe("failed");
  });

  it("a typed message refused by the session (rate limit) is marked not sent", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.send("hi");
    socket.receive({ type: "error", stage: "session", code: "rate_limited", message: "rate limit reached: 60 requests per minute; try again in 12 s" });
    expect(t.errors.at(-1)).toMatch(/^June is busy: rate limit reached: 60 requests per minute; try again in 12 s\. Please wait/);
    expect(t.state().messages.at(-1)?.status).toBe("failed");
    expect(t.state().answering).toBe(false);
  });

  it("a new conversation adopts the id of its first stored turn and keeps its socket", async () => {
    const t = setup();
    const socket = await openReady(t, null);
    expect(socket.url).toBe("ws://h/v1/realtime");
    t.controller.send("hello");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hello" });
    socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "new1", message_id: "m", transcript: "hello", text: "hi!", timings: {} });
    expect(t.state().conversationId).toBe("new1");
    expect(t.saved).toEqual(["new1"]);
    expect(FakeWebSocket.instances).toHaveLength(1);
    // a reconnect now resumes that conversation
    vi.useFakeTimers();
    socket.serverClose(1006);
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.last().url).toBe("ws://h/v1/realtime?conversation_id=new1");
  });

  it("reconnects after an unexpected close: Reconnecting…, then Reconnected and the messages reloaded", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.controller.send("hi");
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hi" });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "par" });
    vi.useFakeTimers();
    socket.serverClose(1006);
    expect(t.state().notice).toBe("Reconnecting…");
    expect(t.state().connection).toBe("reconnecting");
    expect(t.state().messages.at(-1)?.status).toBe("interrupted");
    vi.advanceTimersByTime(500);
    const again = FakeWebSocket.last();
    expect(again).not.toBe(socket);
    expect(again.url).toBe("ws://h/v1/realtime?conversation_id=c1");
    vi.useRealTimers();
    again.open();
    again.receive(started());
    expect(t.state().notice).toBe("Reconnected");
    await vi.waitFor(() => expect(t.calls.filter((c) => c.url.startsWith("/v1/conversations/c1/messages"))).toHaveLength(2));
    await vi.waitFor(() => expect(t.state().messages.map((m) => m.text)).toEqual(["hi", "hello"]));
  });

  it("4404: says the conversation is gone and closes it", async () => {
    const t = setup();
    const socket = await openReady(t);
    socket.receive({ type: "error", stage: "session", code: "not_found", message: "no conversation c1" });
    socket.serverClose(4404);
    expect(t.errors).toEqual(["This conversation no longer exists (it may have been deleted)."]);
    expect(t.gone).toEqual(["c1"]);
    expect(t.state().isOpen).toBe(false);
  });

  it("4401: refreshes the token and reconnects with the new one; refused again → sign-in", async () => {
    const t = setup();
    const socket = await openReady(t);
    t.tokens.accessToken.mockReturnValue("NEW");
    socket.serverClose(4401);
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(2));
    expect(t.tokens.refresh).toHaveBeenCalledTimes(1);
    expect(FakeWebSocket.last().protocols).toEqual(["june.v1", "june.token.NEW"]);
    FakeWebSocket.last().open();
    FakeWebSocket.last().serverClose(4401);
    expect(t.tokens.expire).toHaveBeenCalledTimes(1);
    expect(t.errors).toEqual([]); // the auth error event itself is not an alert: sign-in says it
  });

  it("switching conversation closes the old socket without reconnecting it", async () => {
    const t = setup({
      "GET /v1/conversations/c2/messages": { body: { object: "list", data: [], has_more: false, next_before: null } },
    });
    const first = await openReady(t);
    t.controller.open("c2");
    expect(first.closedWith?.code).toBe(1000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.last().url).toBe("ws://h/v1/realtime?conversation_id=c2");
  });
});
