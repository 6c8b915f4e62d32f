"""June's own REST API against a real June: conversations and documents, scoped to their owner.

Two users share one running stack (``june_stack``); each test checks that one
never sees, renames or deletes the other's conversations or documents, and
that a foreign id reads exactly like an unknown one (404, never 403). The
caption helpers behind the OpenAI endpoint's ``srt``/``vtt`` are checked here
too, on the edge cases real transcripts rarely show.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from june.gateway.subtitles import Cue, srt, timestamp, vtt
from tests.gateway_users import auth_header, user_token
from tests.stack import Stack

TINY = {"max_tokens": 4, "temperature": 0.0, "seed": 3}
NOTE = (
    "The spare key of the blue shed is hidden under the third flower pot by the gate. "
    "The shed holds the bicycle pump and the winter tyres."
)


@pytest.fixture(scope="module")
def owner(june_stack: Stack) -> Iterator[httpx.Client]:
    token = user_token(june_stack, "rest-owner")
    with httpx.Client(base_url=june_stack.base_url, headers=auth_header(token), timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def other(june_stack: Stack) -> Iterator[httpx.Client]:
    token = user_token(june_stack, "rest-other")
    with httpx.Client(base_url=june_stack.base_url, headers=auth_header(token), timeout=120) as c:
        yield c


def start_conversation(client: httpx.Client, text: str) -> str:
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": "june",
            "conversation_id": "new",
            "messages": [{"role": "user", "content": text}],
            **TINY,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["conversation_id"]


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    return response.json()["error"]


# -------------------------------------------------------------------- conversations
def test_conversations_list_newest_first_and_page(owner: httpx.Client) -> None:
    ids = [start_conversation(owner, f"Note number {n}.") for n in range(3)]
    listed = owner.get("/v1/conversations").json()
    assert listed["object"] == "list"
    assert [c["id"] for c in listed["data"][:3]] == ids[::-1]
    newest = listed["data"][0]
    assert newest["title"] == "Note number 2." and newest["message_count"] == 2
    assert newest["created_at"] <= newest["updated_at"]

    first = owner.get("/v1/conversations", params={"limit": 2}).json()
    assert [c["id"] for c in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"] and first["next_before"] == ids[1]
    rest = owner.get("/v1/conversations", params={"limit": 2, "before": ids[1]}).json()
    assert rest["data"][0]["id"] == ids[0]

    messages = owner.get(f"/v1/conversations/{ids[0]}/messages", params={"limit": 1}).json()
    assert [m["role"] for m in messages["data"]] == ["assistant"] and messages["has_more"]
    earlier = owner.get(
        f"/v1/conversations/{ids[0]}/messages", params={"before": messages["next_before"]}
    ).json()
    assert [(m["role"], m["text"]) for m in earlier["data"]] == [("user", "Note number 0.")]
    assert not earlier["has_more"]


def test_conversation_rename_and_delete(owner: httpx.Client) -> None:
    conversation = start_conversation(owner, "Plan the garden.")
    renamed = owner.patch(f"/v1/conversations/{conversation}", json={"title": "  Garden  "})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Garden"
    assert (
        "title"
        in error_of(owner.patch(f"/v1/conversations/{conversation}", json={"title": ""}), 400)[
            "message"
        ]
    )

    assert owner.delete(f"/v1/conversations/{conversation}").status_code == 204
    assert error_of(owner.get(f"/v1/conversations/{conversation}"), 404)["code"] == "not_found"
    assert error_of(owner.delete(f"/v1/conversations/{conversation}"), 404)
    listed = owner.get("/v1/conversations", params={"limit": 200}).json()["data"]
    assert conversation not in {c["id"] for c in listed}


def test_another_users_conversation_is_not_found(owner: httpx.Client, other: httpx.Client) -> None:
    conversation = start_conversation(owner, "My secret diary entry.")
    unknown = str(uuid.uuid4())
    for path in (conversation, unknown):
        foreign = error_of(other.get(f"/v1/conversations/{path}"), 404)
        assert foreign["code"] == "not_found"
        assert error_of(other.get(f"/v1/conversations/{path}/messages"), 404)
        assert error_of(other.delete(f"/v1/conversations/{path}"), 404)
        assert error_of(other.patch(f"/v1/conversations/{path}", json={"title": "x"}), 404)
    # the stranger cannot continue it either
    hijack = other.post(
        "/v1/chat/completions",
        json={"model": "june", "messages": [{"role": "user", "content": "hi"}], **TINY},
        headers={"X-June-Conversation-Id": conversation},
    )
    assert error_of(hijack, 404)
    assert conversation not in {c["id"] for c in other.get("/v1/conversations").json()["data"]}
    # and all of it is still there for its owner
    kept = owner.get(f"/v1/conversations/{conversation}").json()
    assert kept["title"] == "My secret diary entry." and len(kept["messages"]) == 2
    assert error_of(owner.get("/v1/conversations/not-a-uuid"), 404)


def test_conversations_need_a_token(june_stack: Stack) -> None:
    response = httpx.get(f"{june_stack.base_url}/v1/conversations", timeout=30)
    assert error_of(response, 401)["code"] == "unauthorized"


# ------------------------------------------------------------------------ documents
def test_document_upload_search_and_delete(owner: httpx.Client, other: httpx.Client) -> None:
    uploaded = owner.post(
        "/v1/documents", files={"file": ("shed.md", NOTE.encode(), "text/markdown")}
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["name"] == "shed.md" and document["chunk_count"] >= 1
    assert document["size_bytes"] == len(NOTE.encode()) and document["created_at"]
    doc_id = document["id"]

    assert doc_id in {d["id"] for d in owner.get("/v1/documents").json()["data"]}
    assert owner.get(f"/v1/documents/{doc_id}").json()["sha256"] == document["sha256"]
    found = owner.get("/v1/documents/search", params={"q": "where is the shed key", "k": 3})
    assert found.status_code == 200, found.text
    best = found.json()["data"][0]
    assert best["document_id"] == doc_id and "flower pot" in best["text"]
    assert best["score"] > 0.3

    # the other user neither finds, reads nor deletes it
    theirs = other.get("/v1/documents/search", params={"q": "where is the shed key"}).json()
    assert doc_id not in {h["document_id"] for h in theirs["data"]}
    assert error_of(other.get(f"/v1/documents/{doc_id}"), 404)
    assert error_of(other.delete(f"/v1/documents/{doc_id}"), 404)

    assert owner.delete(f"/v1/documents/{doc_id}").status_code == 204
    assert doc_id not in {d["id"] for d in owner.get("/v1/documents").json()["data"]}
    assert error_of(owner.delete(f"/v1/documents/{doc_id}"), 404)
    assert error_of(owner.delete("/v1/documents/nope"), 404)


def test_document_refusals(owner: httpx.Client) -> None:
    missing = owner.post("/v1/documents", data={"name": "x.txt"}, files={"y": ("y", b"1")})
    assert "file" in error_of(missing, 400)["message"]
    empty_query = owner.get("/v1/documents/search", params={"q": " "})
    assert "q" in error_of(empty_query, 400)["message"]
    binary = owner.post("/v1/documents", files={"file": ("blob.bin", bytes(range(256)) * 8)})
    assert error_of(binary, 400)["message"]
    # the service is still fine afterwards
    ok = owner.post("/v1/documents", files={"file": ("ok.txt", b"Tea is at five o'clock.")})
    assert ok.status_code == 201, ok.text
    assert owner.delete(f"/v1/documents/{ok.json()['id']}").status_code == 204


# ------------------------------------------------------------------------- captions
def test_caption_timestamps_and_empty_cues() -> None:
    assert timestamp(3723.5, ",") == "01:02:03,500"
    assert timestamp(0.0004, ".") == "00:00:00.000"
    assert timestamp(-1, ".") == "00:00:00.000"
    cues = [Cue(0.0, 1.25, " Hello."), Cue(1.3, 1.3, "  "), Cue(2.0, 1.9, "Bye.")]
    assert srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,250\nHello.\n\n2\n00:00:02,000 --> 00:00:02,000\nBye.\n"
    )
    assert vtt(cues).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nHello.\n\n")
    assert vtt([]) == "WEBVTT\n\n"
