import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { REFRESH_TOKEN_KEY, AuthSession } from "../src/api/session";
import { App } from "../src/App";
import type { ChatMessage } from "../src/chat/controller";
import { ConversationList } from "../src/components/ConversationList";
import { MessageBubble } from "../src/components/MessageBubble";
import { FakeWebSocket, type Handler, type Route, fakeFetch } from "./fakes";

const XSS = "<img src=x onerror=alert(1)>";

function bubble(text: string, role = "assistant"): ChatMessage {
  return { key: "k", id: "m", role, text, createdAt: "2025-03-01T09:30:00+00:00", turnId: null, status: "done", sources: [], audioSeconds: 0 };
}

function conversation(id: string, title: string | null, updated_at = "2025-03-01T09:30:00+00:00") {
  return { id, object: "conversation" as const, title, created_at: updated_at, updated_at, message_count: 2 };
}

function message(id: string, role: string, text: string) {
  return { id, object: "conversation.message", role, text, created_at: "2025-03-01T09:30:00+00:00", timings: null, tokens_in: null, tokens_out: null, has_audio: false };
}

describe("stored strings are text, never HTML", () => {
  it("renders a message containing markup as that literal text", () => {
    const { container } = render(
      <ol>
        <MessageBubble message={bubble(XSS)} />
        <MessageBubble message={{ ...bubble(XSS, "user"), key: "k2" }} />
      </ol>,
    );
    expect(screen.getAllByText(XSS)).toHaveLength(2);
    expect(container.querySelector("img")).toBeNull();
  });

  it("renders a conversation title and a source's document name containing markup as text", () => {
    const { container } = render(
      <>
        <ConversationList
          items={[conversation("c1", XSS)]}
          loading={false}
          hasMore={false}
          activeId={null}
          onOpen={() => {}}
          onRename={async () => true}
          onDelete={async () => true}
          onLoadMore={() => {}}
        />
        <ol>
          <MessageBubble message={{ ...bubble("see"), sources: [{ document_id: "d", document_name: XSS, chunk_index: 0, score: 0.5 }] }} />
        </ol>
      </>,
    );
    expect(screen.getAllByText(XSS)).toHaveLength(2);
    expect(screen.getByRole("button", { name: "Rename conversation" })).toHaveAccessibleDescription(XSS);
    expect(container.querySelector("img")).toBeNull();
  });

  it("never uses dangerouslySetInnerHTML anywhere in the source", async () => {
    const sources = import.meta.glob("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });
    const offenders = Object.entries(sources)
      .filter(([, text]) => String(text).includes("dangerously" + "SetInnerHTML"))
      .map(([path]) => path);
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});

// ---- the whole app, against a fake gateway and a fake WebSocket ---------------------------

const pair = { access_token: "ACCESS", refresh_token: "REFRESH", token_type: "bearer", expires_in: 900 };

function gateway(extra: Record<string, Route | Handler> = {}) {
  return fakeFetch({
    "GET /v1/auth/setup": { body: { has_users: true } },
    "POST /v1/auth/login": ({ body }) =>
      (body as { password: string }).password === "right"
        ? { body: pair }
        : { status: 401, body: { error: { code: "invalid_credentials", message: "wrong user name or password" } } },
    "GET /v1/auth/me": { body: { id: "u", name: "ada", is_admin: false, via: "jwt" } },
    "GET /v1/conversations": {
      body: {
        object: "list",
        data: [conversation("c1", "Trip to Rome"), conversation("c2", XSS, "2025-02-01T09:30:00+00:00")],
        has_more: false,
        next_before: null,
      },
    },
    "GET /v1/conversations/c1/messages": {
      body: { object: "list", data: [message("m1", "user", "Book a hotel"), message("m2", "assistant", XSS)], has_more: false, next_before: null },
    },
    ...extra,
  });
}

async function signIn(extra: Record<string, Route | Handler> = {}) {
  const api = gateway(extra);
  const session = new AuthSession({ fetchImpl: api.fetchImpl, storage: localStorage });
  const user = userEvent.setup();
  const view = render(<App session={session} />);
  await user.type(await screen.findByLabelText("Username"), "ada");
  await user.type(screen.getByLabelText("Password"), "right");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  await screen.findByRole("navigation", { name: "Conversations" });
  return { api, session, user, view };
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
});
afterEach(() => vi.unstubAllGlobals());

describe("sign in", () => {
  it("is the first screen, and names the command that makes the first user when there is none", async () => {
    const api = fakeFetch({ "GET /v1/auth/setup": { body: { has_users: false } } });
    render(<App session={new AuthSession({ fetchImpl: api.fetchImpl, storage: localStorage })} />);
    expect(await screen.findByLabelText("Username")).toBeInTheDocument();
    expect(screen.getByLabelText("Password")).toHaveAttribute("type", "password");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeTruthy();
    const code = await screen.findByText("june users add NAME");
    expect(code.tagName).toBe("CODE");
    expect(screen.getByText(/No user exists yet/)).toBeTruthy();
  });

  it("shows the server's message for a wrong password", async () => {
    const api = gateway();
    const user = userEvent.setup();
    render(<App session={new AuthSession({ fetchImpl: api.fetchImpl, storage: localStorage })} />);
    await user.type(await screen.findByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong user name or password");
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });
});

describe("the signed-in app", () => {
  it("lists conversations (titles as text), opens one, and shows its messages as bubbles", async () => {
    const { api, user, view } = await signIn();
    const nav = screen.getByRole("navigation", { name: "Conversations" });
    expect(within(nav).getByRole("button", { name: /Trip to Rome/ })).toBeTruthy();
    expect(within(nav).getByText(XSS)).toBeTruthy();
    expect(screen.getByRole("main")).toBeTruthy();
    expect(api.calls.find((c) => c.url.startsWith("/v1/conversations?"))?.url).toBe("/v1/conversations?limit=50");

    await user.click(within(nav).getByRole("button", { name: /Trip to Rome/ }));
    const log = await screen.findByRole("log", { name: "Messages" });
    await within(log).findByText("Book a hotel");
    expect(within(log).getByText(XSS)).toBeTruthy();
    expect(view.container.querySelector("img")).toBeNull();
    expect(screen.getByRole("heading", { name: "Trip to Rome" })).toBeTruthy();
    expect(within(nav).getByRole("button", { name: /Trip to Rome/ })).toHaveAttribute("aria-current", "true");

    const socket = FakeWebSocket.last();
    expect(socket.url).toBe("ws://localhost:3000/v1/realtime?conversation_id=c1");
    expect(socket.protocols).toEqual(["june.v1", "june.token.ACCESS"]);
  });

  it("sends a typed message with Enter, streams June's answer, offers Stop, and shows errors", async () => {
    const { user } = await signIn();
    await user.click(screen.getByRole("button", { name: /Trip to Rome/ }));
    const socket = FakeWebSocket.last();
    act(() => {
      socket.open();
      socket.receive({ type: "session.started", session_id: "s", conversation_id: "c1", input: {}, output: {}, vad: true, max_tokens: 0 });
    });
    expect(socket.sentJson()[0]).toEqual({ type: "session.update", output: { format: "pcm16" } });

    const box = screen.getByRole("textbox", { name: "Message" });
    await user.type(box, "first line{Shift>}{Enter}{/Shift}second line");
    expect(box).toHaveValue("first line\nsecond line");
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
    await user.keyboard("{Enter}");
    expect(socket.sentJson().at(-1)).toEqual({ type: "text", text: "first line\nsecond line" });
    expect(box).toHaveValue("");
    expect(screen.getByRole("button", { name: "Stop" })).toBeTruthy();

    act(() => {
      socket.receive({ type: "transcript.final", turn_id: "t1", text: "first line\nsecond line" });
      socket.receive({ type: "answer.delta", turn_id: "t1", text: "Hello " });
    });
    expect(screen.getByText("Hello")).toBeTruthy();
    act(() => socket.receive({ type: "answer.delta", turn_id: "t1", text: "there" }));
    expect(screen.getByText("Hello there")).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Stop" }));
    expect(socket.sentJson().at(-1)).toEqual({ type: "cancel" });
    act(() => socket.receive({ type: "turn.cancelled", turn_id: "t1", reason: "client" }));
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
    expect(screen.getByText("Stopped")).toBeTruthy();

    act(() => socket.receive({ type: "error", stage: "llm", code: "unavailable", message: "language model is unavailable (the inference service: down)" }));
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("language model is unavailable (the inference service: down)");
    expect(alert).toHaveTextContent("unavailable: the language model (llm)");
    await user.click(within(alert).getByRole("button", { name: "Dismiss" }));
    expect(screen.getByRole("alert")).toHaveTextContent("");
  });

  it("the Speaker toggle is a pressed/unpressed button", async () => {
    const { user } = await signIn();
    await user.click(screen.getByRole("button", { name: "New conversation" }));
    const speaker = screen.getByRole("button", { name: "Speaker" });
    expect(speaker).toHaveAttribute("aria-pressed", "true");
    await user.click(speaker);
    expect(speaker).toHaveAttribute("aria-pressed", "false");
    expect(screen.getByRole("heading", { name: "New conversation" })).toBeTruthy();
    expect(FakeWebSocket.last().url).toBe("ws://localhost:3000/v1/realtime");
  });

  it("shows Reconnecting… and Reconnected around an unexpected close, then reloads the messages", async () => {
    const { user, api } = await signIn();
    await user.click(screen.getByRole("button", { name: /Trip to Rome/ }));
    const socket = FakeWebSocket.last();
    const ready = { type: "session.started", session_id: "s", conversation_id: "c1", input: {}, output: {}, vad: true, max_tokens: 0 };
    act(() => {
      socket.open();
      socket.receive(ready);
    });
    act(() => socket.serverClose(1006));
    expect(screen.getByRole("status")).toHaveTextContent("Reconnecting…");
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(2), { timeout: 2000 });
    act(() => {
      FakeWebSocket.last().open();
      FakeWebSocket.last().receive(ready);
    });
    expect(screen.getByRole("status")).toHaveTextContent("Reconnected");
    const reads = () => api.calls.filter((c) => c.url.startsWith("/v1/conversations/c1/messages"));
    await waitFor(() => expect(reads()).toHaveLength(2));
    expect(await screen.findByText("Book a hotel")).toBeInTheDocument();
  });

  it("renames a conversation (PATCH {title}) and deletes one after confirming", async () => {
    const { api, user } = await signIn({
      "PATCH /v1/conversations/c1": ({ body }) => ({ body: conversation("c1", (body as { title: string }).title) }),
      "DELETE /v1/conversations/c2": { status: 204 },
    });
    const nav = screen.getByRole("navigation", { name: "Conversations" });
    const [rename] = within(nav).getAllByRole("button", { name: "Rename conversation" });
    await user.click(rename);
    const field = within(nav).getByRole("textbox", { name: "Conversation title" });
    await user.clear(field);
    await user.type(field, "Rome in May{Enter}");
    expect(await within(nav).findByRole("button", { name: /Rome in May/ })).toBeTruthy();
    expect(api.calls.find((c) => c.method === "PATCH")).toMatchObject({ url: "/v1/conversations/c1", body: { title: "Rome in May" } });

    const deletes = within(nav).getAllByRole("button", { name: "Delete conversation" });
    expect(deletes[1]).toHaveAccessibleDescription(XSS);
    await user.click(deletes[1]);
    await user.click(within(nav).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(within(nav).queryByText(XSS)).toBeNull());
    expect(api.calls.find((c) => c.method === "DELETE")?.url).toBe("/v1/conversations/c2");
  });

  it("shows the documents June's answer drew on under its bubble: “Sources”, each document once, best first", async () => {
    const { user } = await signIn();
    await user.click(screen.getByRole("button", { name: /Trip to Rome/ }));
    const socket = FakeWebSocket.last();
    act(() => {
      socket.open();
      socket.receive({ type: "session.started", session_id: "s", conversation_id: "c1", input: {}, output: {}, vad: true, max_tokens: 0 });
    });
    const log = await screen.findByRole("log", { name: "Messages" });
    await within(log).findByText("Book a hotel");
    act(() => {
      socket.receive({ type: "transcript.final", turn_id: "t1", text: "What is my rent?" });
      socket.receive({ type: "answer.delta", turn_id: "t1", text: "Your rent is 900 euros." });
    });
    const answer = within(log).getByText("Your rent is 900 euros.").closest("li") as HTMLElement;
    expect(within(answer).queryByText("Sources")).toBeNull();
    // turn.done also refreshes the conversation list: let that finish inside act
    await act(async () =>
      socket.receive({
        type: "turn.done", turn_id: "t1", conversation_id: "c1", message_id: "m3",
        transcript: "What is my rent?", text: "Your rent is 900 euros.", timings: {},
        sources: [
          { document_id: "d1", document_name: "Lease.pdf", chunk_index: 3, score: 0.61 },
          { document_id: "d2", document_name: "House rules.md", chunk_index: 0, score: 0.83 },
          { document_id: "d1", document_name: "Lease.pdf", chunk_index: 4, score: 0.58 },
        ],
      }),
    );
    const sources = within(answer).getByRole("list", { name: "Sources" });
    expect(within(sources).getAllByRole("listitem").map((item) => item.textContent)).toEqual(["House rules.md", "Lease.pdf"]);
    expect(within(log).getAllByText("Lease.pdf")).toHaveLength(1);
    expect(within(log).getAllByText("Sources")).toHaveLength(1);
  });

  it("shows a stored answer's sources, also after a reload", async () => {
    const sources = [
      { document_id: "d1", document_name: "Lease.pdf", chunk_index: 3, score: 0.7 },
      { document_id: "d1", document_name: "Lease.pdf", chunk_index: 5, score: 0.64 },
      { document_id: "d2", document_name: XSS, chunk_index: 1, score: 0.52 },
    ];
    const routes = {
      "GET /v1/conversations/c1/messages": {
        body: {
          object: "list",
          data: [message("m1", "user", "What is my rent?"), { ...message("m2", "assistant", "Your rent is 900 euros."), sources }],
          has_more: false,
          next_before: null,
        },
      },
      "POST /v1/auth/refresh": { body: pair },
    };
    const check = async () => {
      const log = await screen.findByRole("log", { name: "Messages" });
      const answer = (await within(log).findByText("Your rent is 900 euros.")).closest("li") as HTMLElement;
      const list = within(answer).getByRole("list", { name: "Sources" });
      expect(within(list).getAllByRole("listitem").map((item) => item.textContent)).toEqual(["Lease.pdf", XSS]);
      expect(within(log).getByText("What is my rent?").closest("li")).not.toHaveTextContent("Sources");
      expect(document.querySelector("img")).toBeNull();
    };
    const { api, user, view } = await signIn(routes);
    await user.click(screen.getByRole("button", { name: /Trip to Rome/ }));
    await check();

    // a reload: a new page, signed in again from the stored refresh token
    view.unmount();
    render(<App session={new AuthSession({ fetchImpl: api.fetchImpl, storage: localStorage })} />);
    await user.click(await screen.findByRole("button", { name: /Trip to Rome/ }));
    await check();
    expect(api.calls.filter((c) => c.url.startsWith("/v1/conversations/c1/messages"))).toHaveLength(2);
  });

  it("Sign out forgets the tokens and goes back to sign-in", async () => {
    const { user } = await signIn();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe("REFRESH");
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeTruthy();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it("a REST 429 tells to wait", async () => {
    await signIn({
      "GET /v1/conversations": {
        status: 429,
        headers: { "Retry-After": "12" },
        body: { error: { code: "rate_limited", message: "rate limit reached: 60 requests per minute; try again in 12 s" } },
      },
    });
    expect(await screen.findByRole("alert")).toHaveTextContent(/rate limit reached.*Please wait 12 seconds and try again\./);
  });
});
