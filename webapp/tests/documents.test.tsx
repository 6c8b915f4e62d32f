import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listDocuments, uploadDocument } from "../src/api/documents";
import { Http } from "../src/api/http";
import { AuthSession } from "../src/api/session";
import { App } from "../src/App";
import { formatBytes } from "../src/format";
import { FakeWebSocket, FakeXMLHttpRequest, type Handler, type Route, fakeFetch, fakeXhr } from "./fakes";

const XSS = "<img src=x onerror=alert(1)>";
const pair = { access_token: "ACCESS", refresh_token: "REFRESH", token_type: "bearer", expires_in: 900 };

function doc(id: string, name: string, created_at: string, size_bytes = 1234) {
  return { id, object: "document", name, mime_type: "text/markdown", size_bytes, sha256: `sha-${id}`, chunk_count: 3, created_at };
}

const OLD = doc("d1", "old notes.md", "2025-01-05T10:00:00+00:00", 800);
const LEASE = doc("d2", "Lease.pdf", "2025-03-01T09:30:00+00:00", 1_234_567);

function gateway(extra: Record<string, Route | Handler> = {}) {
  return fakeFetch({
    "GET /v1/auth/setup": { body: { has_users: true } },
    "POST /v1/auth/login": { body: pair },
    "GET /v1/auth/me": { body: { id: "u", name: "ada", is_admin: false, via: "jwt" } },
    "GET /v1/conversations": { body: { object: "list", data: [], has_more: false, next_before: null } },
    // oldest first, as a server may send them: the panel shows the newest first
    "GET /v1/documents": { body: { object: "list", data: [OLD, LEASE] } },
    ...extra,
  });
}

/** Signed in, with the Documents panel open. */
async function openDocuments(extra: Record<string, Route | Handler> = {}) {
  const api = gateway(extra);
  const session = new AuthSession({ fetchImpl: api.fetchImpl, storage: localStorage });
  const user = userEvent.setup();
  const view = render(<App session={session} />);
  await user.type(await screen.findByLabelText("Username"), "ada");
  await user.type(screen.getByLabelText("Password"), "right");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  await screen.findByRole("navigation", { name: "Conversations" });
  await user.click(screen.getByRole("button", { name: "Documents" }));
  const dialog = await screen.findByRole("dialog", { name: "Documents" });
  return { api, session, user, view, dialog };
}

function names(list: HTMLElement): string[] {
  return within(list)
    .getAllByRole("listitem")
    .map((item) => item.querySelector(".document-name")?.textContent ?? "");
}

beforeEach(() => {
  FakeWebSocket.reset();
  FakeXMLHttpRequest.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
  vi.stubGlobal("XMLHttpRequest", FakeXMLHttpRequest);
});
afterEach(() => vi.unstubAllGlobals());

describe("the documents API", () => {
  it("lists newest first, uploads the file in the multipart field `file`, with the token", async () => {
    const { fetchImpl, calls } = fakeFetch({ "GET /v1/documents": { body: { object: "list", data: [OLD, LEASE] } } });
    const http = new Http({ accessToken: () => "ACCESS", refresh: async () => true, expire: () => {} }, fetchImpl, fakeXhr);
    expect((await listDocuments(http)).map((d) => d.id)).toEqual(["d2", "d1"]);
    expect(calls[0]).toMatchObject({ method: "GET", url: "/v1/documents" });
    expect(calls[0].headers.Authorization).toBe("Bearer ACCESS");

    const file = new File(["hello"], "hello.txt", { type: "text/plain" });
    const stored = uploadDocument(http, file);
    const xhr = FakeXMLHttpRequest.last();
    expect(xhr).toMatchObject({ method: "POST", url: "/v1/documents" });
    expect(xhr.headers.Authorization).toBe("Bearer ACCESS");
    expect(xhr.headers["Content-Type"]).toBeUndefined(); // the browser sets multipart/form-data; boundary=…
    expect(xhr.field("file")).toBeInstanceOf(File);
    expect((xhr.field("file") as File).name).toBe("hello.txt");
    xhr.respond(201, doc("d3", "hello.txt", "2025-04-01T00:00:00+00:00"));
    await expect(stored).resolves.toMatchObject({ id: "d3", name: "hello.txt" });
  });

  it("sizes read as people read them", () => {
    expect([formatBytes(0), formatBytes(1), formatBytes(800), formatBytes(1234), formatBytes(1_234_567), formatBytes(52_428_800)]).toEqual([
      "0 bytes",
      "1 byte",
      "800 bytes",
      "1.2 KB",
      "1.2 MB",
      "52 MB",
    ]);
  });
});

describe("the Documents panel", () => {
  it("lists the documents (name, size, when added), most recent first", async () => {
    const { api, dialog } = await openDocuments();
    const list = await within(dialog).findByRole("list", { name: "Your documents" });
    expect(names(list)).toEqual(["Lease.pdf", "old notes.md"]);
    const [lease] = within(list).getAllByRole("listitem");
    expect(lease).toHaveTextContent("1.2 MB");
    expect(lease.querySelector("time")).toHaveAttribute("dateTime", LEASE.created_at);
    const read = api.calls.find((c) => c.url === "/v1/documents");
    expect(read).toMatchObject({ method: "GET" });
    expect(read?.headers.Authorization).toBe("Bearer ACCESS");
  });

  it("offers a file picker named “Upload a document” for the formats June reads", async () => {
    const { dialog } = await openDocuments();
    const input = within(dialog).getByLabelText("Upload a document");
    expect(input).toHaveAttribute("type", "file");
    expect(input).toHaveAccessibleName("Upload a document");
    expect(input.closest("label")).toBeNull(); // a <label for> styled as a button
    const accept = input.getAttribute("accept")?.split(",") ?? [];
    for (const kind of [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", "text/plain", "text/markdown", "text/html", "application/pdf"]) {
      expect(accept).toContain(kind);
    }
  });

  it("uploads a file with the token, shows its progress, then the new document first in the list", async () => {
    const { dialog, user } = await openDocuments();
    const list = await within(dialog).findByRole("list", { name: "Your documents" });
    await user.upload(within(dialog).getByLabelText("Upload a document"), new File(["# Notes"], "notes.md", { type: "text/markdown" }));

    const xhr = FakeXMLHttpRequest.last();
    expect(xhr).toMatchObject({ method: "POST", url: "/v1/documents" });
    expect(xhr.headers.Authorization).toBe("Bearer ACCESS");
    expect((xhr.field("file") as File).name).toBe("notes.md");

    const bar = within(dialog).getByRole("progressbar", { name: "Uploading notes.md" });
    expect(bar).toHaveAttribute("aria-valuenow", "0");
    act(() => xhr.progress(40, 100));
    expect(bar).toHaveAttribute("aria-valuenow", "40");
    expect(within(dialog).getByText("40%")).toBeInTheDocument();
    act(() => xhr.progress(100, 100));
    expect(bar).toHaveAttribute("aria-valuenow", "100");
    expect(within(dialog).getByText("Reading it…")).toBeInTheDocument();

    act(() => xhr.respond(201, doc("d3", "notes.md", "2025-04-01T08:00:00+00:00", 7)));
    await waitFor(() => expect(within(dialog).queryByRole("progressbar")).toBeNull());
    expect(names(list)).toEqual(["notes.md", "Lease.pdf", "old notes.md"]);
    expect(within(dialog).getByText("Added “notes.md”.")).toBeInTheDocument();
  });

  it("uploads several files one after another, each with its own progress bar", async () => {
    const { dialog, user } = await openDocuments();
    const list = await within(dialog).findByRole("list", { name: "Your documents" });
    await user.upload(within(dialog).getByLabelText("Upload a document"), [
      new File(["a"], "a.txt", { type: "text/plain" }),
      new File(["<html></html>"], "b.html", { type: "text/html" }),
    ]);
    expect(FakeXMLHttpRequest.pending()).toHaveLength(1);
    expect(within(dialog).getAllByRole("progressbar")).toHaveLength(2);
    expect(within(dialog).getByRole("progressbar", { name: "Uploading b.html" })).toHaveAttribute("aria-valuetext", "Waiting…");

    const first = FakeXMLHttpRequest.last();
    expect((first.field("file") as File).name).toBe("a.txt");
    act(() => first.respond(201, doc("d3", "a.txt", "2025-04-01T08:00:00+00:00")));
    await waitFor(() => expect(FakeXMLHttpRequest.instances).toHaveLength(2));
    const second = FakeXMLHttpRequest.last();
    expect((second.field("file") as File).name).toBe("b.html");
    expect(within(dialog).getAllByRole("progressbar")).toHaveLength(1);
    act(() => second.respond(201, doc("d4", "b.html", "2025-04-01T08:01:00+00:00")));
    await waitFor(() => expect(within(dialog).queryByRole("progressbar")).toBeNull());
    expect(names(list)).toEqual(["b.html", "a.txt", "Lease.pdf", "old notes.md"]);
  });

  it("uploads files dropped on the panel; a refused one shows the server's message in the alert region", async () => {
    const { dialog } = await openDocuments();
    await within(dialog).findByRole("list", { name: "Your documents" });
    const file = new File(["PK\u0003\u0004"], "report.docx", { type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document" });
    fireEvent.dragEnter(dialog, { dataTransfer: { types: ["Files"], files: [] } });
    expect(within(dialog).getByText("Drop files to add them")).toBeInTheDocument();
    fireEvent.drop(dialog, { dataTransfer: { types: ["Files"], files: [file] } });
    expect(within(dialog).queryByText("Drop files to add them")).toBeNull();

    const xhr = FakeXMLHttpRequest.last();
    expect((xhr.field("file") as File).name).toBe("report.docx");
    act(() =>
      xhr.respond(415, {
        error: { code: "unsupported_media_type", message: "report.docx is a Word document; June reads plain text, Markdown, HTML and PDF files" },
      }),
    );
    const alert = screen.getByRole("alert");
    await waitFor(() =>
      expect(alert).toHaveTextContent("report.docx is a Word document; June reads plain text, Markdown, HTML and PDF files."),
    );
    expect(alert).toHaveTextContent("“report.docx” was not added");
    expect(within(dialog).queryByRole("progressbar")).toBeNull();
    expect(names(within(dialog).getByRole("list", { name: "Your documents" }))).toEqual(["Lease.pdf", "old notes.md"]);
  });

  it("removes a document after confirming: Cancel keeps it, Remove calls DELETE and the row disappears", async () => {
    const { api, dialog, user } = await openDocuments({ "DELETE /v1/documents/d1": { status: 204 } });
    const list = await within(dialog).findByRole("list", { name: "Your documents" });
    const buttons = within(list).getAllByRole("button", { name: "Remove document" });
    expect(buttons).toHaveLength(2);
    expect(buttons[0]).toHaveAccessibleDescription("Lease.pdf");
    expect(buttons[1]).toHaveAccessibleDescription("old notes.md");

    await user.click(buttons[1]);
    let question = within(list).getByRole("group", { name: "Remove “old notes.md”? June will no longer search it." });
    expect(within(question).getByRole("button", { name: "Remove" })).toHaveFocus();
    await user.click(within(question).getByRole("button", { name: "Cancel" }));
    expect(within(list).queryByRole("group")).toBeNull();
    expect(api.calls.some((c) => c.method === "DELETE")).toBe(false);
    expect(within(list).getAllByRole("button", { name: "Remove document" })[1]).toHaveFocus();

    await user.click(within(list).getAllByRole("button", { name: "Remove document" })[1]);
    question = within(list).getByRole("group", { name: /Remove “old notes.md”/ });
    await user.click(within(question).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(within(dialog).queryByText("old notes.md")).toBeNull());
    const removal = api.calls.find((c) => c.method === "DELETE");
    expect(removal?.url).toBe("/v1/documents/d1");
    expect(removal?.headers.Authorization).toBe("Bearer ACCESS");
    expect(names(list)).toEqual(["Lease.pdf"]);
  });

  it("renders a document named like markup as that literal text (no img element)", async () => {
    const { dialog, view } = await openDocuments({
      "GET /v1/documents": { body: { object: "list", data: [doc("dx", XSS, "2025-03-01T09:30:00+00:00")] } },
    });
    expect(await within(dialog).findByText(XSS)).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Remove document" })).toHaveAccessibleDescription(XSS);
    expect(view.container.querySelector("img")).toBeNull();
    expect(document.querySelector("img")).toBeNull();
  });

  it("says when there are none, and closes with Close or Escape, giving focus back to “Documents”", async () => {
    const { dialog, user } = await openDocuments({ "GET /v1/documents": { body: { object: "list", data: [] } } });
    expect(await within(dialog).findByText(/No documents yet/)).toBeInTheDocument();
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(screen.getByRole("navigation", { hidden: true })).toHaveAttribute("inert");
    await user.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.getByRole("button", { name: "Documents" })).toHaveFocus();

    await user.click(screen.getByRole("button", { name: "Documents" }));
    await screen.findByRole("dialog", { name: "Documents" });
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.getByRole("button", { name: "Documents" })).toHaveFocus();
  });
});
