import { describe, expect, it } from "vitest";
import { MIC_CONSTRAINTS, type MicEnvironment, MicRecorder } from "../src/audio/recorder";

function fakeEnv(options: { refuse?: string } = {}) {
  const tracks = [{ stopped: false, onended: null as null | (() => void), stop() { this.stopped = true; } }];
  const node = { port: { onmessage: null as null | ((e: { data: Float32Array }) => void) }, connect() {}, disconnect() {} };
  const context = {
    state: "running",
    sampleRate: 48_000,
    destination: {},
    audioWorklet: { modules: [] as string[], async addModule(url: string) { this.modules.push(url); } },
    async resume() {},
    async close() { context.state = "closed"; },
    createMediaStreamSource: () => ({ connect() {}, disconnect() {} }),
    createGain: () => ({ gain: { value: 1 }, connect() {}, disconnect() {} }),
  };
  let resolveMedia: (() => void) | null = null;
  const asked: MediaStreamConstraints[] = [];
  const env: MicEnvironment = {
    getUserMedia: (constraints) => {
      asked.push(constraints);
      if (options.refuse) return Promise.reject(new DOMException("no", options.refuse));
      return new Promise((resolve) => {
        resolveMedia = () => resolve({ getTracks: () => tracks, getAudioTracks: () => tracks } as unknown as MediaStream);
      });
    },
    createContext: () => context as unknown as AudioContext,
    createNode: () => node as unknown as AudioWorkletNode,
  };
  return { env, tracks, node, context, asked, grant: () => resolveMedia?.() };
}

describe("MicRecorder", () => {
  it("asks with echo cancellation, sends 100 ms chunks of 16 kHz s16le, and stops every track", async () => {
    const f = fakeEnv();
    const chunks: ArrayBuffer[] = [];
    const states: string[] = [];
    const recorder = new MicRecorder({ onChunk: (c) => chunks.push(c), onState: (s) => states.push(s.status) }, f.env, "/w.js");
    const started = recorder.start();
    f.grant();
    await started;
    expect(f.asked[0]).toEqual(MIC_CONSTRAINTS);
    expect(f.context.audioWorklet.modules).toEqual(["/w.js"]);
    expect(recorder.state.status).toBe("recording");
    // 0.11 s at 48 kHz in blocks of 128
    for (let i = 0; i < 42; i += 1) f.node.port.onmessage?.({ data: new Float32Array(128).fill(0.5) });
    expect(chunks.map((c) => c.byteLength)).toEqual([3200]);
    expect(new DataView(chunks[0]).getInt16(0, true)).toBe(16384);
    const wav = await recorder.stop();
    expect(chunks.length).toBe(2); // the rest, flushed
    expect(wav?.size).toBe(44 + chunks[0].byteLength + chunks[1].byteLength);
    expect(f.tracks.every((t) => t.stopped)).toBe(true);
    expect(states).toEqual(["requesting", "recording", "stopping", "idle"]);
  });

  it("stop while asking: the microphone is released when it comes", async () => {
    const f = fakeEnv();
    const states: string[] = [];
    const recorder = new MicRecorder({ onChunk: () => undefined, onState: (s) => states.push(s.status) }, f.env, "/w.js");
    const started = recorder.start();
    expect(await recorder.stop()).toBeNull();
    f.grant();
    await started;
    expect(f.tracks[0].stopped).toBe(true);
    expect(states).toEqual(["requesting", "stopping", "idle"]);
  });

  it("permission refused, no microphone", async () => {
    const denied = new MicRecorder({ onChunk: () => undefined, onState: () => undefined }, fakeEnv({ refuse: "NotAllowedError" }).env);
    await denied.start();
    expect(denied.state.status).toBe("denied");
    const none = new MicRecorder({ onChunk: () => undefined, onState: () => undefined }, fakeEnv({ refuse: "NotFoundError" }).env);
    await none.start();
    expect(none.state.status).toBe("no-device");
    const unsupported = new MicRecorder({ onChunk: () => undefined, onState: () => undefined }, null);
    await unsupported.start();
    expect(unsupported.state).toMatchObject({ status: "failed", error: expect.stringMatching(/AudioWorklet/) });
  });
});
