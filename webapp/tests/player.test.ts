import { describe, expect, it } from "vitest";
import { PcmPlayer, decodePcm16 } from "../src/audio/player";
import { FakeAudioContext, pcm } from "./fakes";

const mono = { format: "pcm16", sample_rate: 10, channels: 1 };

function setup() {
  const context = new FakeAudioContext();
  const player = new PcmPlayer(() => context);
  return { context, player };
}

describe("decodePcm16", () => {
  it("reads little-endian 16-bit samples into [-1, 1), per channel", () => {
    expect(Array.from(decodePcm16(new Uint8Array(pcm([0, 16384, -32768])), 1)[0])).toEqual([0, 0.5, -1]);
    const [left, right] = decodePcm16(new Uint8Array(pcm([16384, -16384, 0, 32767])), 2);
    expect(Array.from(left)).toEqual([0.5, 0]);
    expect(Array.from(right)).toEqual([-0.5, 32767 / 32768]);
  });
});

describe("PcmPlayer", () => {
  it("schedules pieces back to back on one context, at the announced rate", () => {
    const { context, player } = setup();
    player.play("t1", pcm([1, 2, 3, 4, 5]), mono); // 0.5 s at 10 Hz
    player.play("t1", pcm([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), mono); // 1 s
    const [first, second] = context.sources;
    expect(first.buffer?.sampleRate).toBe(10);
    expect(first.startedAt).toBeCloseTo(0.05);
    expect(second.startedAt).toBeCloseTo(0.55);
    expect(player.playing).toBe(true);
  });

  it("starts fresh after a gap instead of scheduling in the past", () => {
    const { context, player } = setup();
    player.play("t1", pcm([1, 2, 3, 4, 5]), mono);
    context.sources[0].end();
    context.currentTime = 5;
    player.play("t1", pcm([1, 2]), mono);
    expect(context.sources[1].startedAt).toBeCloseTo(5.05);
  });

  it("keeps a sample split across frames for the next frame", () => {
    const { context, player } = setup();
    const bytes = new Uint8Array(pcm([100, 200]));
    player.play("t1", bytes.slice(0, 3).buffer, mono);
    player.play("t1", bytes.slice(3).buffer, mono);
    expect(context.sources.map((s) => s.buffer?.length)).toEqual([1, 1]);
    expect(context.sources[1].buffer?.getChannelData(0)[0]).toBeCloseTo(200 / 32768);
  });

  it("stops one turn and drops what else arrives of it", () => {
    const { context, player } = setup();
    player.play("t1", pcm([1, 2]), mono);
    player.play("t1", pcm([3, 4]), mono);
    player.stopTurn("t1");
    expect(context.sources.every((s) => s.stopped)).toBe(true);
    player.play("t1", pcm([5, 6]), mono);
    expect(context.sources).toHaveLength(2);
    expect(player.playing).toBe(false);
    player.play("t2", pcm([7, 8]), mono);
    expect(context.live()).toHaveLength(1);
    expect(context.live()[0].startedAt).toBeCloseTo(0.05); // nothing queued ahead of it any more
  });

  it("with the speaker off plays nothing and stops what played", () => {
    const { context, player } = setup();
    player.play("t1", pcm([1, 2]), mono);
    player.setEnabled(false);
    expect(context.sources[0].stopped).toBe(true);
    player.play("t2", pcm([1, 2]), mono);
    expect(context.sources).toHaveLength(1);
    player.setEnabled(true);
    player.play("t2", pcm([1, 2]), mono);
    expect(context.live()).toHaveLength(1);
  });

  it("tells when playing starts and ends", () => {
    const { context, player } = setup();
    const changes: boolean[] = [];
    player.onPlayingChange((p) => changes.push(p));
    player.play("t1", pcm([1]), mono);
    player.play("t1", pcm([2]), mono);
    context.sources[0].end();
    context.sources[1].end();
    expect(changes).toEqual([true, false]);
  });

  it("resumes a suspended context on unlock (the user's first gesture)", () => {
    const { context, player } = setup();
    player.unlock();
    expect(context.resumed).toBe(1);
    expect(context.state).toBe("running");
  });

  it("ignores formats other than pcm16", () => {
    const { context, player } = setup();
    player.play("t1", pcm([1, 2]), { ...mono, format: "opus" });
    expect(context.sources).toHaveLength(0);
  });
});
