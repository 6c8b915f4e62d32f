import { beforeEach, describe, expect, it, vi } from "vitest";
import { type AudioFrameEvent, type ClientEvent, RealtimeClient, realtimeUrl } from "../src/realtime/client";
import { FakeWebSocket, pcm, socketFactory } from "./fakes";

const location = { protocol: "http:", host: "june.local:8000" };

function setup(idleTimeoutMs = 0) {
  const client = new RealtimeClient({ createSocket: socketFactory(), location, idleTimeoutMs });
  const events: ClientEvent[] = [];
  client.on((event) => events.push(event));
  client.connect("TOKEN", "conv-1");
  const socket = FakeWebSocket.last();
  socket.open();
  const audio = () => events.filter((e): e is AudioFrameEvent => e.type === "audio");
  return { client, events, socket, audio };
}

const started = {
  type: "session.started",
  session_id: "s1",
  conversation_id: "conv-1",
  input: { format: "pcm16", sample_rate: 16000, channels: 1 },
  output: { format: "pcm16", sample_rate: 22050, voice: "" },
  vad: true,
  max_tokens: 0,
};

beforeEach(() => FakeWebSocket.reset());

describe("RealtimeClient: connecting", () => {
  it("opens ws(s)://<same host>/v1/realtime with the conversation and the token subprotocol pair", () => {
    const { socket } = setup();
    expect(socket.url).toBe("ws://june.local:8000/v1/realtime?conversation_id=conv-1");
    expect(socket.protocols).toEqual(["june.v1", "june.token.TOKEN"]);
    expect(socket.binaryType).toBe("arraybuffer");
  });

  it("uses wss on https and leaves conversation_id out for a new conversation", () => {
    expect(realtimeUrl({ protocol: "https:", host: "june.example" }, null)).toBe("wss://june.example/v1/realtime");
    expect(realtimeUrl({ protocol: "http:", host: "h" }, "a b")).toBe("ws://h/v1/realtime?conversation_id=a%20b");
  });

  it("reports open, then every event", () => {
    const { events, socket } = setup();
    socket.receive(started);
    expect(events.map((e) => e.type)).toEqual(["open", "session.started"]);
  });
});

describe("RealtimeClient: every server event of docs/realtime.md", () => {
  it("delivers each one, typed, in order, with its fields", () => {
    const { client, events, socket } = setup();
    socket.receive(started);
    socket.receive({ type: "speech.started", utterance: 1 });
    socket.receive({ type: "transcript.partial", text: "what time", utterance: 1 });
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "what time is it" });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "It is " });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "noon." });
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2, 3]));
    socket.receive({
      type: "turn.done",
      turn_id: "t1",
      conversation_id: "conv-1",
      message_id: "m1",
      transcript: "what time is it",
      text: "It is noon.",
      timings: { done_s: 1.2 },
    });
    socket.receive({ type: "audio.stop", turn_id: "t1", reason: "barge_in" });
    socket.receive({ type: "transcript.final", turn_id: "t2", text: "stop" });
    socket.receive({ type: "turn.cancelled", turn_id: "t2", reason: "client" });
    socket.receive({ type: "error", stage: "tts", code: "unavailable", message: "speech synthesis is unavailable", turn_id: "t3" });
    socket.receive({ type: "ping", time: 1 });
    socket.receive({ type: "pong", time: 2 });

    expect(events.map((e) => e.type)).toEqual([
      "open",
      "session.started",
      "speech.started",
      "transcript.partial",
      "transcript.final",
      "answer.delta",
      "answer.delta",
      "audio.start",
      "audio",
      "turn.done",
      "audio.stop",
      "transcript.final",
      "turn.cancelled",
      "error",
      "ping",
      "pong",
    ]);
    const deltas = events.filter((e) => e.type === "answer.delta").map((e) => (e.type === "answer.delta" ? e.text : ""));
    expect(deltas.join("")).toBe("It is noon.");
    const done = events.find((e) => e.type === "turn.done");
    expect(done).toMatchObject({ message_id: "m1", text: "It is noon.", timings: { done_s: 1.2 } });
    const error = events.find((e) => e.type === "error");
    expect(error).toMatchObject({ stage: "tts", code: "unavailable", message: "speech synthesis is unavailable" });
    expect(client.sessionId).toBe("s1");
  });

  it("answers the server's ping with a pong", () => {
    const { socket } = setup();
    socket.receive({ type: "ping", time: 123 });
    expect(socket.sentJson()).toEqual([{ type: "pong" }]);
  });

  it("reports a text frame that is not a known event as unknown (and goes on)", () => {
    const { events, socket } = setup();
    socket.receiveRaw("not json");
    socket.receive({ type: "something.new" });
    socket.receive({ type: "answer.delta", turn_id: "t1", text: "ok" });
    expect(events.map((e) => e.type)).toEqual(["open", "unknown", "unknown", "answer.delta"]);
  });

  it("keeps the new conversation's id from turn.done", () => {
    const client = new RealtimeClient({ createSocket: socketFactory(), location, idleTimeoutMs: 0 });
    client.connect("T", null);
    const socket = FakeWebSocket.last();
    expect(socket.url).toBe("ws://june.local:8000/v1/realtime");
    socket.open();
    socket.receive({ ...started, conversation_id: "" });
    expect(client.conversationId).toBeNull();
    socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "new-id", message_id: "m", transcript: "", text: "", timings: {} });
    expect(client.conversationId).toBe("new-id");
  });
});

describe("RealtimeClient: audio frames", () => {
  it("attributes binary frames to the turn of the last audio.start, with its format", () => {
    const { socket, audio } = setup();
    socket.receiveBinary(pcm([9])); // before any audio.start: nobody's, dropped
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1, 2]));
    socket.receiveBinary(pcm([3, 4]));
    socket.receive({ type: "audio.start", turn_id: "t2", format: "pcm16", sample_rate: 16000, channels: 2 });
    socket.receiveBinary(pcm([5, 6]));

    expect(audio().map((a) => a.turn_id)).toEqual(["t1", "t1", "t2"]);
    expect(audio().map((a) => a.format.sample_rate)).toEqual([22050, 22050, 16000]);
    expect(audio()[2].format.channels).toBe(2);
    expect(new Int16Array(audio()[1].data)).toEqual(new Int16Array([3, 4]));
  });

  it("drops the audio of a cancelled turn", () => {
    const { socket, audio, events } = setup();
    socket.receive({ type: "transcript.final", turn_id: "t1", text: "hi" });
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1]));
    socket.receive({ type: "turn.cancelled", turn_id: "t1", reason: "barge_in" });
    socket.receiveBinary(pcm([2])); // in flight when the cancel was sent
    expect(audio()).toHaveLength(1);
    expect(events.some((e) => e.type === "turn.cancelled" && e.reason === "barge_in")).toBe(true);
  });

  it("drops the audio of a turn whose playback was stopped (audio.stop), not the next turn's", () => {
    const { socket, audio } = setup();
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([1]));
    socket.receive({ type: "audio.stop", turn_id: "t1", reason: "barge_in" });
    socket.receiveBinary(pcm([2]));
    socket.receive({ type: "audio.start", turn_id: "t2", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receiveBinary(pcm([3]));
    expect(audio().map((a) => [a.turn_id, new Int16Array(a.data)[0]])).toEqual([
      ["t1", 1],
      ["t2", 3],
    ]);
  });

  it("drops the audio of a turn stopped locally (Stop button) and of a turn whose llm stage failed", () => {
    const { client, socket, audio } = setup();
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    client.dropTurn("t1");
    socket.receiveBinary(pcm([1]));
    socket.receive({ type: "audio.start", turn_id: "t2", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receive({ type: "error", stage: "llm", code: "failed", message: "no", turn_id: "t2" });
    socket.receiveBinary(pcm([2]));
    expect(audio()).toHaveLength(0);
  });

  it("keeps the audio of a turn that is done (it may still be playing)", () => {
    const { socket, audio } = setup();
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "c", message_id: "m", transcript: "", text: "x", timings: {} });
    socket.receiveBinary(pcm([1]));
    expect(audio()).toHaveLength(1);
  });

  it("accepts typed-array views as binary frames", () => {
    const { socket, audio } = setup();
    socket.receive({ type: "audio.start", turn_id: "t1", format: "pcm16", sample_rate: 22050, channels: 1 });
    const bytes = new Uint8Array([0, 0, 1, 0, 2, 0]);
    socket.onmessage?.({ data: bytes.subarray(2) } as MessageEvent);
    expect(new Int16Array(audio()[0].data)).toEqual(new Int16Array([1, 2]));
  });
});

describe("RealtimeClient: sending", () => {
  it("sends session.update, text, cancel, commit and ping as JSON, and audio as binary", () => {
    const { client, socket } = setup();
    expect(client.sessionUpdate({ output: { format: "pcm16" } })).toBe(true);
    expect(client.sendText("hello")).toBe(true);
    expect(client.cancel()).toBe(true);
    expect(client.commitAudio()).toBe(true);
    expect(client.ping()).toBe(true);
    const audio = new Uint8Array([1, 2]);
    expect(client.sendAudio(audio)).toBe(true);
    expect(socket.sentJson()).toEqual([
      { type: "session.update", output: { format: "pcm16" } },
      { type: "text", text: "hello" },
      { type: "cancel" },
      { type: "input_audio.commit" },
      { type: "ping" },
    ]);
    expect(socket.sent[socket.sent.length - 1]).toBe(audio);
  });

  it("refuses to send before the socket is open or after it closed", () => {
    const client = new RealtimeClient({ createSocket: socketFactory(), location, idleTimeoutMs: 0 });
    expect(client.sendText("x")).toBe(false);
    client.connect("T", null);
    expect(client.sendText("x")).toBe(false);
    FakeWebSocket.last().open();
    FakeWebSocket.last().serverClose(1006);
    expect(client.sendText("x")).toBe(false);
  });
});

describe("RealtimeClient: closing", () => {
  it("reports an unexpected close with its code", () => {
    const { events, socket, client } = setup();
    socket.serverClose(4401, "unauthorized");
    expect(events[events.length - 1]).toEqual({ type: "close", code: 4401, reason: "unauthorized", intentional: false });
    expect(client.state).toBe("closed");
  });

  it("reports its own close as intentional, once, and ignores the old socket afterwards", () => {
    const { events, socket, client } = setup();
    client.close();
    expect(socket.closedWith?.code).toBe(1000);
    socket.serverClose(1000);
    socket.receive({ type: "answer.delta", turn_id: "t", text: "late" });
    const closes = events.filter((e) => e.type === "close");
    expect(closes).toEqual([{ type: "close", code: 1000, reason: "closed by the app", intentional: true }]);
    expect(events.some((e) => e.type === "answer.delta")).toBe(false);
  });

  it("closes and reports a socket that went silent (no ping for too long)", () => {
    vi.useFakeTimers();
    try {
      const { events, socket } = setup(45_000);
      vi.advanceTimersByTime(30_000);
      socket.receive({ type: "ping" }); // still alive
      vi.advanceTimersByTime(44_000);
      expect(events.some((e) => e.type === "close")).toBe(false);
      vi.advanceTimersByTime(1_000);
      expect(events[events.length - 1]).toMatchObject({ type: "close", code: 4000, intentional: false });
      expect(socket.closedWith?.code).toBe(4000);
    } finally {
      vi.useRealTimers();
    }
  });
});
