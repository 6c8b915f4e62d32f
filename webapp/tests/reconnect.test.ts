import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ReconnectCallbacks, type ReconnectStatus, Reconnector, backoffDelay } from "../src/realtime/reconnect";

function setup(refresh: () => Promise<boolean> = () => Promise.resolve(true)) {
  const statuses: Array<[ReconnectStatus, number | undefined]> = [];
  const callbacks = {
    connect: vi.fn(),
    refreshToken: vi.fn(refresh),
    signInNeeded: vi.fn(),
    notFound: vi.fn(),
    onStatus: (status: ReconnectStatus, detail: { delayMs?: number }) => statuses.push([status, detail.delayMs]),
  } satisfies ReconnectCallbacks;
  const reconnector = new Reconnector(callbacks);
  return { reconnector, callbacks, statuses };
}

/** Close unexpectedly, and return the wait before the next connect (ms), found with the fake clock. */
function waitAfterClose(r: ReturnType<typeof setup>, code = 1006): number {
  const before = r.callbacks.connect.mock.calls.length;
  r.reconnector.closed(code);
  let waited = 0;
  while (r.callbacks.connect.mock.calls.length === before) {
    vi.advanceTimersByTime(100);
    waited += 100;
    if (waited > 60_000) throw new Error("never reconnected");
  }
  return waited;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("backoffDelay", () => {
  it("doubles from 0.5 s and stops at 10 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n))).toEqual([
      500, 1000, 2000, 4000, 8000, 10000, 10000, 10000,
    ]);
  });
});

describe("Reconnector", () => {
  it("connects at start and reconnects after 0.5 s, 1 s, 2 s … capped at 10 s", () => {
    const r = setup();
    r.reconnector.start();
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
    const waits = Array.from({ length: 8 }, () => waitAfterClose(r));
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    expect(r.statuses.filter(([s]) => s === "reconnecting").map(([, d]) => d)).toEqual([
      500, 1000, 2000, 4000, 8000, 10000, 10000, 10000,
    ]);
  });

  it("does not reconnect a moment early", () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(1006);
    vi.advanceTimersByTime(499);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
  });

  it("starts the backoff again after a successful connection, and says Reconnected", () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.established();
    expect(r.reconnector.status).toBe("connected");
    waitAfterClose(r);
    waitAfterClose(r);
    expect(waitAfterClose(r)).toBe(2000);
    r.reconnector.established();
    expect(r.reconnector.status).toBe("reconnected");
    expect(r.reconnector.attempt).toBe(0);
    expect(waitAfterClose(r)).toBe(500);
  });

  it("ignores a repeated session.started (one after each session.update)", () => {
    const r = setup();
    r.reconnector.start();
    waitAfterClose(r);
    r.reconnector.established();
    r.reconnector.established();
    expect(r.statuses.map(([s]) => s)).toEqual(["connecting", "reconnecting", "reconnected"]);
  });

  it("a socket that opens and is refused at once (no session) keeps backing off", () => {
    const r = setup();
    r.reconnector.start();
    // e.g. 4429 (rate limited) or 1011: accepted, an error event, closed; no session.started
    expect([waitAfterClose(r, 4429), waitAfterClose(r, 1011), waitAfterClose(r, 1006)]).toEqual([500, 1000, 2000]);
  });

  it("4404: the conversation is gone — no reconnect", () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(4404);
    vi.advanceTimersByTime(60_000);
    expect(r.callbacks.notFound).toHaveBeenCalledTimes(1);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
    expect(r.reconnector.status).toBe("stopped");
  });

  it("4401: refreshes the token once and reconnects at once", async () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(4401);
    expect(r.callbacks.refreshToken).toHaveBeenCalledTimes(1);
    expect(r.reconnector.status).toBe("refreshing");
    await vi.advanceTimersByTimeAsync(0);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
    expect(r.callbacks.signInNeeded).not.toHaveBeenCalled();
  });

  it("4401 again before a session is established: back to sign-in, no second refresh", async () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(0);
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.callbacks.refreshToken).toHaveBeenCalledTimes(1);
    expect(r.callbacks.signInNeeded).toHaveBeenCalledTimes(1);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
  });

  it("4401 after an established session (a later token expiry) refreshes again", async () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(0);
    r.reconnector.established();
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.callbacks.refreshToken).toHaveBeenCalledTimes(2);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(3);
  });

  it("4401 with a refresh that is refused: back to sign-in", async () => {
    const r = setup(() => Promise.resolve(false));
    r.reconnector.start();
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.callbacks.signInNeeded).toHaveBeenCalledTimes(1);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
  });

  it("4401 with the gateway unreachable for the refresh: tries again later", async () => {
    const r = setup(() => Promise.reject(new Error("offline")));
    r.reconnector.start();
    r.reconnector.closed(4401);
    await vi.advanceTimersByTimeAsync(499);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
    expect(r.callbacks.signInNeeded).not.toHaveBeenCalled();
  });

  it("does nothing for a close the app asked for, or once stopped", () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(1000, true);
    vi.advanceTimersByTime(60_000);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
    r.reconnector.closed(1006);
    r.reconnector.stop();
    vi.advanceTimersByTime(60_000);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
  });

  it("a refresh that ends after stop() does not reconnect", async () => {
    let resolve: (ok: boolean) => void = () => {};
    const r = setup(() => new Promise<boolean>((res) => (resolve = res)));
    r.reconnector.start();
    r.reconnector.closed(4401);
    r.reconnector.stop();
    resolve(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(1);
  });

  it("retryNow skips the wait", () => {
    const r = setup();
    r.reconnector.start();
    r.reconnector.closed(1006);
    r.reconnector.closed(1006); // (a second close while waiting restarts the wait)
    r.reconnector.retryNow();
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(60_000);
    expect(r.callbacks.connect).toHaveBeenCalledTimes(2);
  });
});
