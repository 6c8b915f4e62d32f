/**
 * Plays answer audio as it arrives: 16-bit little-endian PCM frames, at the
 * sample rate and channel count the turn's `audio.start` announced.
 *
 * Every frame becomes an AudioBuffer scheduled right after the previous one on
 * a single AudioContext, so the pieces play back to back without gaps. Audio
 * is tracked per turn, so one turn can be stopped (`turn.cancelled`,
 * `audio.stop`, the Stop button) and everything queued of it dropped.
 *
 * Browsers only let an AudioContext play after a user gesture: call
 * {@link PcmPlayer.unlock} from one (the app does on the first key or pointer press).
 */

export interface PcmFormat {
  format?: string;
  sample_rate: number;
  channels: number;
}

/** The part of AudioContext the player uses (a fake one in tests). */
export interface AudioContextLike {
  readonly currentTime: number;
  readonly state: string;
  readonly destination: AudioNode;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBuffer;
  createBufferSource(): AudioBufferSourceNode;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export type ContextFactory = () => AudioContextLike | null;

/** Seconds of lead before the first piece of a burst, so it does not start late and click. */
const START_LEAD_S = 0.05;

function defaultContext(): AudioContextLike | null {
  const Ctor =
    globalThis.AudioContext ??
    (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return null;
  try {
    return new Ctor({ latencyHint: "interactive" }) as AudioContextLike;
  } catch {
    return null;
  }
}

/** s16le interleaved bytes → one Float32Array per channel, in [-1, 1). */
export function decodePcm16(bytes: Uint8Array, channels: number): Float32Array[] {
  const frames = Math.floor(bytes.byteLength / (2 * channels));
  const view = new DataView(bytes.buffer, bytes.byteOffset, frames * 2 * channels);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let frame = 0; frame < frames; frame += 1) {
    for (let channel = 0; channel < channels; channel += 1) {
      out[channel][frame] = view.getInt16((frame * channels + channel) * 2, true) / 32768;
    }
  }
  return out;
}

export class PcmPlayer {
  private readonly createContext: ContextFactory;
  private context: AudioContextLike | null = null;
  private nextStart = 0;
  private readonly sources = new Map<string, Set<AudioBufferSourceNode>>();
  /** Bytes of a turn that did not make a whole sample frame yet (a frame split across messages). */
  private readonly carry = new Map<string, Uint8Array>();
  private readonly stopped = new Set<string>();
  private enabledValue = true;
  private playingValue = false;
  private readonly listeners = new Set<(playing: boolean) => void>();
  private readonly endListeners = new Set<(turnId: string) => void>();
  /** Each turn's audio as played (s16le bytes), for a replayable copy. */
  private readonly collected = new Map<string, { pieces: Uint8Array[]; sampleRate: number; channels: number }>();

  constructor(createContext: ContextFactory = defaultContext) {
    this.createContext = createContext;
  }

  get enabled(): boolean {
    return this.enabledValue;
  }

  /** Whether any answer audio is playing or queued. */
  get playing(): boolean {
    return this.playingValue;
  }

  onPlayingChange(listener: (playing: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the last scheduled buffer of a turn has played to its end (not when it is stopped). */
  onTurnEnded(listener: (turnId: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Whether audio of `turnId` is playing or queued. */
  isPlaying(turnId: string): boolean {
    return this.sources.has(turnId);
  }

  /** The PCM of `turnId` collected so far (what was played of it), or null. */
  turnAudio(turnId: string): { pcm: Uint8Array[]; sampleRate: number; channels: number } | null {
    const turn = this.collected.get(turnId);
    return turn ? { pcm: [...turn.pieces], sampleRate: turn.sampleRate, channels: turn.channels } : null;
  }

  /** Forget the collected PCM of `turnId` (once its copy was made). */
  releaseTurnAudio(turnId: string): void {
    this.collected.delete(turnId);
  }

  /** Create / resume the AudioContext; call from a user gesture (click, key press). */
  unlock(): void {
    const context = this.ensureContext();
    if (context && context.state === "suspended") {
      context.resume().catch(() => {
        // not allowed yet: the next gesture tries again
      });
    }
  }

  /** Speaker on or off; off stops what plays and drops what arrives. */
  setEnabled(enabled: boolean): void {
    this.enabledValue = enabled;
    if (!enabled) this.stopAll();
  }

  /** Queue the next piece of `turnId`'s audio right after what is already queued. */
  play(turnId: string, data: ArrayBuffer, format: PcmFormat): void {
    if (!this.enabledValue || this.stopped.has(turnId)) return;
    if (format.format && format.format !== "pcm16") return; // the app asks for pcm16 only
    const channels = Math.max(1, format.channels || 1);
    const frameBytes = 2 * channels;
    let bytes = new Uint8Array(data);
    const rest = this.carry.get(turnId);
    if (rest) {
      const joined = new Uint8Array(rest.byteLength + bytes.byteLength);
      joined.set(rest, 0);
      joined.set(bytes, rest.byteLength);
      bytes = joined;
      this.carry.delete(turnId);
    }
    const usable = bytes.byteLength - (bytes.byteLength % frameBytes);
    if (usable < bytes.byteLength) this.carry.set(turnId, bytes.slice(usable));
    if (usable === 0) return;
    const context = this.ensureContext();
    if (!context) return;
    if (context.state === "suspended") context.resume().catch(() => undefined);

    const piece = bytes.slice(0, usable);
    const kept = this.collected.get(turnId);
    if (kept && kept.sampleRate === format.sample_rate && kept.channels === channels) kept.pieces.push(piece);
    else this.collected.set(turnId, { pieces: [piece], sampleRate: format.sample_rate, channels });

    const samples = decodePcm16(piece, channels);
    const buffer = context.createBuffer(channels, samples[0].length, format.sample_rate);
    samples.forEach((channel, index) => buffer.getChannelData(index).set(channel));
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);

    const now = context.currentTime;
    const startAt = this.nextStart > now ? this.nextStart : now + START_LEAD_S;
    source.start(startAt);
    this.nextStart = startAt + buffer.duration;

    let turn = this.sources.get(turnId);
    if (!turn) {
      turn = new Set();
      this.sources.set(turnId, turn);
    }
    turn.add(source);
    source.onended = () => {
      const set = this.sources.get(turnId);
      set?.delete(source);
      const ended = set !== undefined && set.size === 0;
      if (ended) this.sources.delete(turnId);
      this.update();
      if (ended) for (const listener of [...this.endListeners]) listener(turnId);
    };
    this.update();
  }

  /** Stop `turnId`'s audio now and drop whatever else of it arrives. */
  stopTurn(turnId: string): void {
    this.stopped.add(turnId);
    this.carry.delete(turnId);
    this.collected.delete(turnId);
    const turn = this.sources.get(turnId);
    if (turn) {
      for (const source of turn) this.silence(source);
      this.sources.delete(turnId);
    }
    if (this.sources.size === 0) this.nextStart = 0;
    this.update();
  }

  /** Stop everything that plays or is queued (the speaker was turned off, the conversation closed). */
  stopAll(): void {
    for (const turn of this.sources.values()) for (const source of turn) this.silence(source);
    this.sources.clear();
    this.carry.clear();
    this.collected.clear();
    this.nextStart = 0;
    this.update();
  }

  /** Let a turn play again (only for a turn id that is reused, which the server never does). */
  forget(turnId: string): void {
    this.stopped.delete(turnId);
  }

  close(): void {
    this.stopAll();
    const context = this.context;
    this.context = null;
    context?.close().catch(() => undefined);
  }

  private silence(source: AudioBufferSourceNode): void {
    source.onended = null;
    try {
      source.stop();
    } catch {
      // never started or already stopped
    }
    try {
      source.disconnect();
    } catch {
      // already disconnected
    }
  }

  private ensureContext(): AudioContextLike | null {
    if (!this.context) this.context = this.createContext();
    return this.context;
  }

  private update(): void {
    const playing = this.sources.size > 0;
    if (playing === this.playingValue) return;
    this.playingValue = playing;
    for (const listener of [...this.listeners]) listener(playing);
  }
}
