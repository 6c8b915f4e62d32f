import { describe, expect, it } from "vitest";
import {
  IDLE,
  type RecorderEvent,
  type RecorderState,
  isBusy,
  isError,
  mediaErrorEvent,
  transition,
} from "../src/audio/recorderState";

function run(...events: RecorderEvent["type"][]): RecorderState {
  return events.reduce<RecorderState>((state, type) => transition(state, { type } as RecorderEvent), IDLE);
}

describe("recorder state machine", () => {
  it("idle → requesting → recording → stopping → idle", () => {
    expect(run("start").status).toBe("requesting");
    expect(run("start", "granted").status).toBe("recording");
    expect(run("start", "granted", "stop").status).toBe("stopping");
    expect(run("start", "granted", "stop", "stopped")).toEqual(IDLE);
  });

  it("permission denied: an error state with plain words, from which start asks again", () => {
    const denied = run("start", "denied");
    expect(denied.status).toBe("denied");
    expect(denied.error).toMatch(/refused/);
    expect(isError(denied)).toBe(true);
    expect(isBusy(denied)).toBe(false);
    expect(transition(denied, { type: "start" })).toEqual({ status: "requesting", error: null });
  });

  it("no microphone, and other failures", () => {
    const none = run("start", "no-device");
    expect(none.status).toBe("no-device");
    expect(none.error).toMatch(/no microphone/);
    expect(transition(IDLE, { type: "start" }).status).toBe("requesting");
    const failed = transition(run("start"), { type: "fail", message: "broken." });
    expect(failed).toEqual({ status: "failed", error: "broken." });
    expect(transition(failed, { type: "start" }).status).toBe("requesting");
    // the microphone going away while recording
    expect(run("start", "granted", "fail").status).toBe("failed");
  });

  it("stop while requesting: stopping, the microphone released when it comes, then idle", () => {
    const stopping = run("start", "stop");
    expect(stopping.status).toBe("stopping");
    expect(isBusy(stopping)).toBe(true);
    expect(transition(stopping, { type: "granted" }).status).toBe("stopping");
    expect(run("start", "stop", "granted", "stopped")).toEqual(IDLE);
    // refused after the stop: nobody waits for it any more, no error
    expect(run("start", "stop", "denied")).toEqual(IDLE);
    expect(run("start", "stop", "no-device")).toEqual(IDLE);
  });

  it("ignores events that do not apply (same state object)", () => {
    expect(transition(IDLE, { type: "stop" })).toBe(IDLE);
    expect(transition(IDLE, { type: "granted" })).toBe(IDLE);
    const recording = run("start", "granted");
    expect(transition(recording, { type: "start" })).toBe(recording);
    expect(transition(recording, { type: "granted" })).toBe(recording);
    const requesting = run("start");
    expect(transition(requesting, { type: "start" })).toBe(requesting);
    const stopping = run("start", "granted", "stop");
    expect(transition(stopping, { type: "stop" })).toBe(stopping);
  });

  it("reads getUserMedia's errors", () => {
    expect(mediaErrorEvent(new DOMException("no", "NotAllowedError")).type).toBe("denied");
    expect(mediaErrorEvent(new DOMException("no", "SecurityError")).type).toBe("denied");
    expect(mediaErrorEvent(new DOMException("none", "NotFoundError")).type).toBe("no-device");
    expect(mediaErrorEvent(new DOMException("none", "OverconstrainedError")).type).toBe("no-device");
    expect(mediaErrorEvent(new DOMException("busy", "NotReadableError"))).toMatchObject({ type: "fail", message: /in use/ });
    expect(mediaErrorEvent(new Error("odd"))).toMatchObject({ type: "fail", message: /odd/ });
  });
});
