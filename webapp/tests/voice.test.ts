import { beforeEach, describe, expect, it, vi } from "vitest";
import { Http } from "../src/api/http";
import { PcmPlayer } from "../src/audio/player";
import type { Recorder, RecorderCallbacks } from "../src/audio/recorder";
import { IDLE, type RecorderEvent, type RecorderState, transition } from "../src/audio/recorderState";
import { ChatController } from "../src/chat/controller";
import { RealtimeClient } from "../src/realtime/client";
import { FakeAudioContext, FakeWebSocket, fakeFetch, pcm, socketFactory } from "./fakes";

/** A microphone the test drives: grant / deny it, feed chunks. */
class FakeRecorder implements Recorder {
  state: RecorderState = IDLE;
  tracksStopped = 0;
  readonly callbacks: RecorderCallbacks;
  constructor(callbacks: RecorderCallbacks) {
    this.callbacks = callbacks;
  }
  private dispatch(event: RecorderEvent) {
    const next = transition(this.state, event);
    if (next === this.state) return;
    this.state = next;
    this.callbacks.onState(next);
  }
  async start() {
    this.dispatch({ type: "start" });
  }
  grant() {
    this.dispatch({ type: "granted" });
  }
  refuse(type: "denied" | "no-device") {
    this.dispatch({ type });
  }
  chunk(samples: number[]) {
    this.callbacks.onChunk(pcm(samples));
  }
  async stop() {
    const recording = this.state.status === "recording";
    this.dispatch({ type: "stop" });
    if (recording) this.chunk([9, 9]); // the last partial chunk
    this.tracksStopped += 1;
    this.dispatch({ type: "stopped" });
    return recording ? new Blob([new Uint8Array(48)], { type: "audio/wav" }) : null;
  }
  takeRecording() {
    return new Blob([new Uint8Array(44)], { type: "audio/wav" });
  }
}

function setup() {
  const tokens = { accessToken: vi.fn(() => "ACCESS"), refresh: vi.fn(async () => true), expire: vi.fn() };
  const { fetchImpl } = fakeFetch({});
  const context = new FakeAudioContext();
  const errors: string[] = [];
  let recorder: FakeRecorder | null = null;
  let urls = 0;
  const controller = new ChatController({
    tokens,
    http: new Http(tokens, fetchImpl),
    client: new RealtimeClient({ createSocket: socketFactory(), location: { protocol: "http:", host: "h" }, idleTimeoutMs: 0 }),
    player: new PcmPlayer(() => context),
    storage: localStorage,
    onError: (m) => errors.push(m),
    createRecorder: (callbacks) => (recorder = new FakeRecorder(callbacks)),
    createObjectUrl: (blob) => `blob:${blob.type}#${(urls += 1)}`,
  });
  controller.open(null);
  const socket = FakeWebSocket.last();
  socket.open();
  socket.receive({ type: "session.started", session_id: "s", conversation_id: "", input: {}, output: {}, vad: true, max_tokens: 0 });
  return {
    controller,
    socket,
    context,
    errors,
    mic: () => {
      if (!recorder) throw new Error("no recorder");
      return recorder;
    },
    state: () => controller.getSnapshot(),
    /** What went out after the first session.update (JSON as objects, binary as byte counts). */
    sent: () =>
      socket.sent.slice(1).map((d) => (typeof d === "string" ? JSON.parse(d) : (d as ArrayBuffer).byteLength)),
  };
}

const PCM_INPUT = { format: "pcm16", sample_rate: 16000, channels: 1 };
const audioStart = (turn_id: string) => ({ type: "audio.start", turn_id, format: "pcm16", sample_rate: 16000, channels: 1 });

beforeEach(() => FakeWebSocket.reset());

describe("voice messages", () => {
  it("start: session.update (pcm16 16 kHz, vad off), then the chunks; stop: the last chunk, then input_audio.commit", async () => {
    const t = setup();
    t.controller.startVoiceMessage();
    expect(t.state().voice).toBe("message");
    expect(t.state().recorder).toBe("requesting");
    t.mic().grant();
    t.mic().chunk([1, 2, 3]);
    t.mic().chunk([4, 5, 6]);
    expect(t.state().recorder).toBe("recording");
    t.controller.stopVoiceMessage();
    expect(t.sent()).toEqual([{ type: "session.update", input: PCM_INPUT, vad: false }, 6, 6, 4, { type: "input_audio.commit" }]);
    expect(t.mic().tracksStopped).toBe(1);
    expect(t.state().voice).toBe("off");
    expect(t.state().recorder).toBe("idle");
  });

  it("the person's bubble: partial text while they speak, then the final text, with their recording's WAV", async () => {
    const t = setup();
    t.controller.startVoiceMessage();
    t.mic().grant();
    const mine = () => t.state().messages.filter((m) => m.role === "user");
    expect(mine()).toMatchObject([{ text: "", status: "speaking" }]);
    t.socket.receive({ type: "transcript.partial", text: "what time" });
    expect(mine()).toMatchObject([{ text: "what time", status: "speaking" }]);
    expect(t.state().partialTranscript).toBe("");
    t.controller.stopVoiceMessage();
    await vi.waitFor(() => expect(mine()[0].audioUrl).toBe("blob:audio/wav#1"));
    t.socket.receive({ type: "transcript.partial", text: "what time is" });
    t.socket.receive({ type: "transcript.final", turn_id: "t1", text: "What time is it?" });
    expect(mine()).toHaveLength(1);
    expect(mine()[0]).toMatchObject({ text: "What time is it?", status: "sent", turnId: "t1", audioUrl: "blob:audio/wav#1" });
    // June's answer: text, audio played as it comes, then the whole answer as a WAV
    t.socket.receive({ type: "answer.delta", turn_id: "t1", text: "Ten." });
    t.socket.receive(audioStart("t1"));
    t.socket.receiveBinary(pcm([1, 2, 3, 4]));
    t.socket.receiveBinary(pcm([5, 6]));
    expect(t.context.sources).toHaveLength(2);
    t.socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "c9", message_id: "m2", transcript: "", text: "Ten.", timings: {} });
    const answer = t.state().messages.find((m) => m.role === "assistant");
    expect(answer).toMatchObject({ text: "Ten.", status: "done", audioUrl: "blob:audio/wav#2" });
  });

  it("no_speech: says 'No speech was heard' and drops the empty bubble", async () => {
    const t = setup();
    t.controller.startVoiceMessage();
    t.mic().grant();
    t.controller.stopVoiceMessage();
    t.socket.receive({ type: "error", stage: "stt", code: "no_speech", message: "nothing heard", turn_id: "" });
    expect(t.errors).toEqual(["No speech was heard"]);
    expect(t.state().messages).toEqual([]);
  });

  it("microphone refused or missing: plain words, back to off", () => {
    const t = setup();
    t.controller.startVoiceMessage();
    t.mic().refuse("denied");
    expect(t.errors[0]).toMatch(/^June cannot use the microphone: .*refused/);
    expect(t.state().voice).toBe("off");
    expect(t.state().recorder).toBe("denied");
    expect(t.state().messages).toEqual([]);
    t.controller.startVoiceMessage();
    t.mic().refuse("no-device");
    expect(t.errors[1]).toMatch(/^June cannot use the microphone: no microphone/);
  });

  it("stop while the permission is asked for: no commit, no bubble", () => {
    const t = setup();
    t.controller.startVoiceMessage();
    t.controller.stopVoiceMessage();
    expect(t.sent()).toEqual([{ type: "session.update", input: PCM_INPUT, vad: false }]);
    expect(t.state().messages).toEqual([]);
    expect(t.state().voice).toBe("off");
  });

  it("a stage unavailable is said in plain words", () => {
    const t = setup();
    t.socket.receive({ type: "error", stage: "stt", code: "unavailable", message: "Speech recognition is down.", turn_id: "" });
    expect(t.errors[0]).toMatch(/unavailable/);
  });
});

describe("call mode", () => {
  it("vad on; Listening → Thinking → Speaking → Listening; ending it stops the tracks and turns vad off", () => {
    const t = setup();
    t.controller.startCall();
    expect(t.sent()).toEqual([{ type: "session.update", input: PCM_INPUT, vad: true }]);
    t.mic().grant();
    t.mic().chunk([1, 2]);
    expect(t.state().voice).toBe("call");
    expect(t.state().callStatus).toBe("Listening");
    t.socket.receive({ type: "transcript.partial", text: "hello" });
    expect(t.state().messages).toMatchObject([{ role: "user", text: "hello", status: "speaking" }]);
    expect(t.state().callStatus).toBe("Listening");
    t.socket.receive({ type: "transcript.final", turn_id: "t1", text: "Hello June." });
    expect(t.state().callStatus).toBe("Thinking");
    expect(t.state().messages[0]).toMatchObject({ text: "Hello June.", turnId: "t1", audioUrl: "blob:audio/wav#1" });
    t.socket.receive(audioStart("t1"));
    t.socket.receiveBinary(pcm([1, 2, 3]));
    expect(t.state().callStatus).toBe("Speaking");
    t.socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "c9", message_id: "m2", transcript: "", text: "Hi.", timings: {} });
    expect(t.state().callStatus).toBe("Speaking"); // still playing
    t.context.sources[0].end();
    expect(t.state().callStatus).toBe("Listening");

    t.controller.endCall();
    expect(t.mic().tracksStopped).toBe(1);
    expect(t.sent().slice(-1)).toEqual([{ type: "session.update", vad: false }]);
    expect(t.state().voice).toBe("off");
    expect(t.state().callStatus).toBeNull();
    // no commit in a call: the server's VAD ends utterances
    expect(t.sent()).not.toContainEqual({ type: "input_audio.commit" });
  });

  it("barge-in: turn.cancelled stops the playback at once, then the new turn thinks", () => {
    const t = setup();
    t.controller.startCall();
    t.mic().grant();
    t.socket.receive({ type: "transcript.final", turn_id: "t1", text: "Tell me a story." });
    t.socket.receive(audioStart("t1"));
    t.socket.receiveBinary(pcm([1, 2, 3]));
    t.socket.receiveBinary(pcm([4, 5, 6]));
    expect(t.state().callStatus).toBe("Speaking");
    t.socket.receive({ type: "transcript.partial", text: "wait" });
    t.socket.receive({ type: "turn.cancelled", turn_id: "t1", reason: "barge_in" });
    expect(t.context.live()).toHaveLength(0);
    expect(t.state().callStatus).toBe("Listening");
    t.socket.receive({ type: "transcript.final", turn_id: "t2", text: "Wait, stop." });
    expect(t.state().callStatus).toBe("Thinking");
    expect(t.state().messages.map((m) => [m.role, m.text, m.status])).toEqual([
      ["user", "Tell me a story.", "sent"],
      ["assistant", "", "stopped"],
      ["user", "Wait, stop.", "sent"],
      ["assistant", "", "streaming"],
    ]);
  });

  it("audio.stop after turn.done stops the playback: back to Listening", () => {
    const t = setup();
    t.controller.startCall();
    t.mic().grant();
    t.socket.receive({ type: "transcript.final", turn_id: "t1", text: "Hi." });
    t.socket.receive(audioStart("t1"));
    t.socket.receiveBinary(pcm([1, 2, 3]));
    t.socket.receive({ type: "turn.done", turn_id: "t1", conversation_id: "c9", message_id: "m2", transcript: "", text: "Hello.", timings: {} });
    expect(t.state().callStatus).toBe("Speaking");
    t.socket.receive({ type: "audio.stop", turn_id: "t1", reason: "barge_in" });
    expect(t.context.live()).toHaveLength(0);
    expect(t.state().callStatus).toBe("Listening");
  });

  it("a refused microphone ends the call", () => {
    const t = setup();
    t.controller.startCall();
    t.mic().refuse("denied");
    expect(t.errors[0]).toMatch(/^June cannot use the microphone/);
    expect(t.state().voice).toBe("off");
    expect(t.sent().slice(-1)).toEqual([{ type: "session.update", vad: false }]);
  });
});

describe("PcmPlayer, per turn", () => {
  it("says when a turn's last buffer ended, and keeps the turn's PCM", () => {
    const context = new FakeAudioContext();
    const player = new PcmPlayer(() => context);
    const ended: string[] = [];
    player.onTurnEnded((id) => ended.push(id));
    const format = { format: "pcm16", sample_rate: 16000, channels: 1 };
    player.play("t1", pcm([1, 2]), format);
    player.play("t1", pcm([3]), format);
    expect(player.isPlaying("t1")).toBe(true);
    const audio = player.turnAudio("t1");
    expect(audio?.sampleRate).toBe(16000);
    expect(audio?.pcm.map((p) => p.byteLength)).toEqual([4, 2]);
    context.sources[0].end();
    expect(ended).toEqual([]);
    context.sources[1].end();
    expect(ended).toEqual(["t1"]);
    expect(player.isPlaying("t1")).toBe(false);
    player.releaseTurnAudio("t1");
    expect(player.turnAudio("t1")).toBeNull();
    // a stopped turn does not "end", and its PCM is dropped
    player.play("t2", pcm([1]), format);
    player.stopTurn("t2");
    expect(ended).toEqual(["t1"]);
    expect(player.turnAudio("t2")).toBeNull();
  });
});
