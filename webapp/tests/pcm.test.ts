import { describe, expect, it } from "vitest";
import { Downsampler, concatBytes, downsample, floatToPcm16, wavBlob, wavHeader } from "../src/audio/pcm";

function text(view: DataView, offset: number, length: number): string {
  return String.fromCharCode(...Array.from({ length }, (_, i) => view.getUint8(offset + i)));
}

export function readBlob(blob: Blob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

describe("PCM helpers", () => {
  it("downsamples 48 kHz to 16 kHz: a third of the length, each sample the mean of its three", () => {
    const input = Float32Array.from({ length: 4800 }, (_, i) => (i % 3) / 10);
    const out = downsample(input, 48_000, 16_000);
    expect(out.length).toBe(1600);
    for (const value of out) expect(value).toBeCloseTo(0.1, 6);
    expect(Array.from(downsample(Float32Array.from([0, 0.3, 0.6, 1, 1, 1]), 48_000)).map((v) => +v.toFixed(4))).toEqual([0.3, 1]);
  });

  it("downsamples a stream piece by piece as if it were one piece (also for 44.1 kHz)", () => {
    const input = Float32Array.from({ length: 4410 }, (_, i) => Math.sin(i / 20));
    const whole = downsample(input, 44_100);
    expect(whole.length).toBe(1600);
    const stream = new Downsampler(44_100);
    const pieces: number[] = [];
    for (let i = 0; i < input.length; i += 128) pieces.push(...stream.push(input.subarray(i, i + 128)));
    expect(pieces.length).toBe(whole.length);
    pieces.forEach((v, i) => expect(v).toBeCloseTo(whole[i], 5));
    // 48 kHz in blocks of 128 (not a multiple of 3)
    const s48 = new Downsampler(48_000);
    let n = 0;
    for (let i = 0; i < 10; i += 1) n += s48.push(new Float32Array(128)).length;
    expect(n).toBe(Math.floor(1280 / 3));
  });

  it("16 kHz input passes through", () => {
    expect(Array.from(downsample(Float32Array.from([0.5, -0.5]), 16_000))).toEqual([0.5, -0.5]);
  });

  it("float → s16le, clipping outside [-1, 1]", () => {
    const view = new DataView(floatToPcm16(Float32Array.from([0, 1, -1, 0.5, 2, -3, Number.NaN])));
    const samples = Array.from({ length: 7 }, (_, i) => view.getInt16(i * 2, true));
    expect(samples).toEqual([0, 32767, -32768, 16384, 32767, -32768, 0]);
    expect(view.byteLength).toBe(14);
  });

  it("the WAV header: RIFF, WAVE, PCM, the sample rate and the byte counts", () => {
    const view = new DataView(wavHeader(3200, 16_000, 1));
    expect(view.byteLength).toBe(44);
    expect(text(view, 0, 4)).toBe("RIFF");
    expect(view.getUint32(4, true)).toBe(36 + 3200);
    expect(text(view, 8, 4)).toBe("WAVE");
    expect(text(view, 12, 4)).toBe("fmt ");
    expect(view.getUint32(16, true)).toBe(16);
    expect(view.getUint16(20, true)).toBe(1);
    expect(view.getUint16(22, true)).toBe(1);
    expect(view.getUint32(24, true)).toBe(16_000);
    expect(view.getUint32(28, true)).toBe(32_000);
    expect(view.getUint16(32, true)).toBe(2);
    expect(view.getUint16(34, true)).toBe(16);
    expect(text(view, 36, 4)).toBe("data");
    expect(view.getUint32(40, true)).toBe(3200);
    const stereo = new DataView(wavHeader(100, 22_050, 2));
    expect(stereo.getUint32(28, true)).toBe(88_200);
    expect(stereo.getUint16(32, true)).toBe(4);
  });

  it("a WAV Blob: header then the PCM, in order", async () => {
    const blob = wavBlob([new Uint8Array([1, 2]), new Uint8Array([3, 4]).buffer], 16_000);
    expect(blob.type).toBe("audio/wav");
    expect(blob.size).toBe(48);
    const bytes = await readBlob(blob);
    expect(Array.from(bytes.slice(44))).toEqual([1, 2, 3, 4]);
    expect(new DataView(bytes.buffer).getUint32(40, true)).toBe(4);
    expect(Array.from(concatBytes([new Uint8Array([9]), new Uint8Array([8, 7])]))).toEqual([9, 8, 7]);
  });
});
