/**
 * The microphone, as raw PCM: 16 kHz mono s16le chunks of about 100 ms,
 * what the server's `session.update` input `{format: "pcm16", sample_rate: 16000, channels: 1}` expects.
 *
 * getUserMedia (echo cancellation, noise suppression, automatic gain, one
 * channel) → an AudioWorklet (`capture-worklet.ts`, bundled as its own
 * same-origin file) → downsampled here → `onChunk`. A copy of what was
 * recorded is kept, to give back as a WAV Blob when the recording stops.
 * Its states follow `recorderState.ts`.
 */

import workletUrl from "./capture-worklet.ts?worker&url";
import { Downsampler, INPUT_SAMPLE_RATE, floatToPcm16, wavBlob } from "./pcm";
import { IDLE, type RecorderEvent, type RecorderState, mediaErrorEvent, transition } from "./recorderState";

/** ~100 ms at 16 kHz. */
export const CHUNK_SAMPLES = 1600;

export const MIC_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

export interface RecorderCallbacks {
  /** The next ~100 ms of 16 kHz mono s16le. */
  onChunk(chunk: ArrayBuffer): void;
  onState(state: RecorderState): void;
}

/** What the controller needs of a recorder (a fake one in tests). */
export interface Recorder {
  readonly state: RecorderState;
  /** Ask for the microphone and record; resolves once recording (or failed: see `state`). */
  start(): Promise<void>;
  /**
   * Stop: the last partial chunk goes through `onChunk` before this returns,
   * then every track is stopped; resolves with the WAV copy of the take (null if nothing was recorded).
   */
  stop(): Promise<Blob | null>;
  /** The WAV copy of what was recorded since the last take (the recording goes on). */
  takeRecording(): Blob | null;
}

export type RecorderFactory = (callbacks: RecorderCallbacks) => Recorder;

/** What the browser must provide (injected in tests). */
export interface MicEnvironment {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  createContext(): AudioContext;
  createNode(context: AudioContext): AudioWorkletNode;
}

function browserEnvironment(): MicEnvironment | null {
  const media = globalThis.navigator?.mediaDevices;
  if (!media?.getUserMedia || typeof AudioContext === "undefined" || typeof AudioWorkletNode === "undefined") return null;
  return {
    getUserMedia: (constraints) => media.getUserMedia(constraints),
    createContext: () => new AudioContext({ latencyHint: "interactive" }),
    createNode: (context) =>
      new AudioWorkletNode(context, "june-capture", { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1 }),
  };
}

export class MicRecorder implements Recorder {
  private current: RecorderState = IDLE;
  private readonly callbacks: RecorderCallbacks;
  private readonly env: MicEnvironment | null;
  private readonly moduleUrl: string;
  private stream: MediaStream | null = null;
  private context: AudioContext | null = null;
  private nodes: AudioNode[] = [];
  private downsampler: Downsampler | null = null;
  private pending: number[] = [];
  private take: ArrayBuffer[] = [];

  constructor(callbacks: RecorderCallbacks, env: MicEnvironment | null = browserEnvironment(), moduleUrl = workletUrl) {
    this.callbacks = callbacks;
    this.env = env;
    this.moduleUrl = moduleUrl;
  }

  get state(): RecorderState {
    return this.current;
  }

  /** The status now (a method, so TypeScript does not narrow it across awaits). */
  private status(): RecorderState["status"] {
    return this.current.status;
  }

  async start(): Promise<void> {
    if (this.current.status === "requesting" || this.current.status === "recording" || this.current.status === "stopping") return;
    this.dispatch({ type: "start" });
    const env = this.env;
    if (!env) {
      this.dispatch({ type: "fail", message: "this browser cannot record audio (it needs getUserMedia and AudioWorklet, over HTTPS)." });
      return;
    }
    let stream: MediaStream;
    try {
      stream = await env.getUserMedia(MIC_CONSTRAINTS);
    } catch (error) {
      this.dispatch(mediaErrorEvent(error));
      return;
    }
    if (this.status() !== "requesting") {
      // stopped while the permission was asked for: release it at once
      for (const track of stream.getTracks()) track.stop();
      this.dispatch({ type: "stopped" });
      return;
    }
    this.stream = stream;
    try {
      const context = env.createContext();
      this.context = context;
      await context.audioWorklet.addModule(this.moduleUrl);
      if (context.state === "suspended") await context.resume().catch(() => undefined);
      if (this.status() !== "requesting") {
        this.release();
        this.dispatch({ type: "stopped" });
        return;
      }
      const source = context.createMediaStreamSource(stream);
      const node = env.createNode(context);
      const mute = context.createGain();
      mute.gain.value = 0;
      source.connect(node);
      node.connect(mute); // pulled by the graph, heard by nobody
      mute.connect(context.destination);
      this.nodes = [source, node, mute];
      this.downsampler = new Downsampler(context.sampleRate, INPUT_SAMPLE_RATE);
      this.pending = [];
      this.take = [];
      node.port.onmessage = (event: MessageEvent<Float32Array>) => this.receive(event.data);
      for (const track of stream.getAudioTracks()) {
        track.onended = () => {
          if (this.current.status !== "recording") return;
          this.release();
          this.dispatch({ type: "fail", message: "the microphone was disconnected." });
        };
      }
    } catch (error) {
      this.release();
      const message = error instanceof Error && error.message ? ` (${error.message})` : "";
      this.dispatch({ type: "fail", message: `the microphone could not be recorded${message}.` });
      return;
    }
    this.dispatch({ type: "granted" });
  }

  async stop(): Promise<Blob | null> {
    const status = this.current.status;
    if (status !== "recording" && status !== "requesting") return null;
    this.dispatch({ type: "stop" });
    if (status === "requesting") return null; // start() releases the microphone when it arrives
    this.flush();
    const recording = this.takeRecording();
    this.release();
    this.dispatch({ type: "stopped" });
    return recording;
  }

  takeRecording(): Blob | null {
    const take = this.take;
    this.take = [];
    return take.length > 0 ? wavBlob(take, INPUT_SAMPLE_RATE, 1) : null;
  }

  private receive(samples: Float32Array): void {
    if (this.current.status !== "recording" || !this.downsampler) return;
    const out = this.downsampler.push(samples);
    for (let i = 0; i < out.length; i += 1) this.pending.push(out[i]);
    while (this.pending.length >= CHUNK_SAMPLES) this.emit(this.pending.splice(0, CHUNK_SAMPLES));
  }

  private flush(): void {
    if (this.pending.length > 0) this.emit(this.pending.splice(0));
  }

  private emit(samples: number[]): void {
    const chunk = floatToPcm16(Float32Array.from(samples));
    this.take.push(chunk.slice(0));
    this.callbacks.onChunk(chunk);
  }

  /** Disconnect the graph and stop every track of the microphone. */
  private release(): void {
    for (const node of this.nodes) {
      try {
        node.disconnect();
      } catch {
        // already disconnected
      }
    }
    const worklet = this.nodes[1] as AudioWorkletNode | undefined;
    if (worklet?.port) worklet.port.onmessage = null;
    this.nodes = [];
    for (const track of this.stream?.getTracks() ?? []) {
      track.onended = null;
      track.stop();
    }
    this.stream = null;
    const context = this.context;
    this.context = null;
    if (context && context.state !== "closed") context.close().catch(() => undefined);
    this.downsampler = null;
  }

  private dispatch(event: RecorderEvent): void {
    const next = transition(this.current, event);
    if (next === this.current) return;
    this.current = next;
    this.callbacks.onState(next);
  }
}

export const createMicRecorder: RecorderFactory = (callbacks) => new MicRecorder(callbacks);
