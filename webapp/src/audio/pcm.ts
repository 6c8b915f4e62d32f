/**
 * PCM helpers for the microphone: downsampling to 16 kHz, float → s16le, WAV files.
 *
 * Pure functions (and one small stateful downsampler for a stream), tested without audio.
 */

/** The rate and layout the server's `pcm16` input expects. */
export const INPUT_SAMPLE_RATE = 16_000;

/**
 * Downsamples a stream of mono float samples, piece by piece: each output
 * sample is the mean of the input samples of its window (a box filter, which
 * also keeps most aliasing out). Works for any ratio ≥ 1 (48 kHz → 16 kHz is 3
 * input samples per output one; 44.1 kHz → 16 kHz about 2.76). The part of a
 * window not complete yet is kept for the next piece.
 */
export class Downsampler {
  private readonly ratio: number;
  private pending: Float32Array = new Float32Array(0);
  /** Where the next window starts in `pending` (fractional). */
  private position = 0;

  constructor(fromRate: number, toRate: number = INPUT_SAMPLE_RATE) {
    if (!(fromRate > 0) || !(toRate > 0)) throw new Error("sample rates must be positive");
    this.ratio = fromRate / toRate;
  }

  push(input: Float32Array): Float32Array {
    if (this.ratio === 1) return input.slice();
    let data = input;
    if (this.pending.length > 0) {
      data = new Float32Array(this.pending.length + input.length);
      data.set(this.pending, 0);
      data.set(input, this.pending.length);
    }
    const out: number[] = [];
    let start = this.position;
    while (start + this.ratio <= data.length + 1e-9) {
      const end = start + this.ratio;
      const from = Math.floor(start + 1e-6);
      const to = Math.min(data.length, Math.max(from + 1, Math.ceil(end - 1e-6)));
      let sum = 0;
      for (let i = from; i < to; i += 1) sum += data[i];
      out.push(sum / (to - from));
      start = end;
    }
    const keepFrom = Math.min(Math.floor(start + 1e-6), data.length);
    this.pending = data.slice(keepFrom);
    this.position = Math.max(0, start - keepFrom);
    return Float32Array.from(out);
  }
}

/** One piece at `fromRate` → `toRate` (mono). */
export function downsample(input: Float32Array, fromRate: number, toRate: number = INPUT_SAMPLE_RATE): Float32Array {
  return new Downsampler(fromRate, toRate).push(input);
}

/** Floats in [-1, 1] → signed 16-bit little-endian bytes (clipped outside that range). */
export function floatToPcm16(samples: Float32Array): ArrayBuffer {
  const buffer = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buffer);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, Number.isNaN(samples[i]) ? 0 : samples[i]));
    view.setInt16(i * 2, s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff), true);
  }
  return buffer;
}

/** The 44-byte header of a PCM WAV file holding `dataBytes` bytes of s16le audio. */
export function wavHeader(dataBytes: number, sampleRate: number, channels = 1): ArrayBuffer {
  const header = new ArrayBuffer(44);
  const view = new DataView(header);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i += 1) view.setUint8(offset + i, text.charCodeAt(i));
  };
  const blockAlign = channels * 2;
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // size of the fmt chunk
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true); // byte rate
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  return header;
}

/** The pieces, one after another. */
export function concatBytes(pieces: ReadonlyArray<ArrayBuffer | Uint8Array>): Uint8Array {
  const total = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece instanceof Uint8Array ? piece : new Uint8Array(piece), offset);
    offset += piece.byteLength;
  }
  return out;
}

/** A playable WAV file (header + the s16le bytes). */
export function wavBlob(pcm: ReadonlyArray<ArrayBuffer | Uint8Array>, sampleRate: number, channels = 1): Blob {
  const data = concatBytes(pcm);
  return new Blob([wavHeader(data.byteLength, sampleRate, channels), data as Uint8Array<ArrayBuffer>], { type: "audio/wav" });
}
