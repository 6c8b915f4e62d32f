"""``june chat`` as a person runs it, against the real June (``june_stack``).

The command runs as a subprocess in the stack's environment; standard input
is a pipe, which is how a script (or this test) chats in text mode.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from june.infra.ports import free_port
from tests.gateway_users import PASSWORD, api_key, auth_header, june, user_token
from tests.speech import load_clip, wer
from tests.stack import Stack

USER = "chat-cli-user"
QUESTION = "1089-134686-0010"


@pytest.fixture(scope="module")
def key(june_stack: Stack) -> str:
    user_token(june_stack, USER)  # makes the user
    return api_key(june_stack, USER, "chat-cli")


def chat(stack: Stack, *args: str, stdin: str = "", key: str | None = None, timeout: float = 180):
    """``june chat --url <the stack's gateway> ARGS`` (with ``--api-key`` when given)."""
    auth = ["--api-key", key] if key else []
    return june(stack, "chat", "--url", stack.base_url, *auth, *args, stdin=stdin, timeout=timeout)


def test_a_recording_is_answered_with_text_and_a_wav(
    june_stack: Stack, key: str, tmp_path: Path
) -> None:
    clip = load_clip(QUESTION)
    out = tmp_path / "reply.wav"
    args = ["--audio", str(clip.path), "--out", str(out), "--json", "--max-tokens", "24"]
    result = chat(june_stack, *args, key=key)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert wer(clip.text, body["transcript"]) <= 0.2, body["transcript"]
    assert body["answer"].strip() and body["conversation_id"]
    assert body["timings"]["first_audio_s"] > 0 and body["client_timings"]["done_s"] > 0
    assert body["audio"] == {
        "format": "pcm16",
        "sample_rate": 22_050,
        "bytes": body["audio"]["bytes"],
        "path": str(out),
    }
    with av.open(io.BytesIO(out.read_bytes())) as box:
        assert box.format.name == "wav"
        stream = box.streams.audio[0]
        assert stream.rate == 22_050
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in box.decode(stream)])
    assert len(samples) == body["audio"]["bytes"] // 2
    assert np.abs(samples.astype(np.float32)).max() > 0.05 * 32768


def test_the_human_output_names_who_said_what(june_stack: Stack, key: str) -> None:
    clip = load_clip("6930-75918-0000")
    result = chat(june_stack, "--audio", str(clip.path), "--max-tokens", "16", key=key)
    assert result.returncode == 0, result.stderr
    you, answer = result.stdout.splitlines()[:2]
    assert you.startswith("you: ") and wer(clip.text, you[5:]) <= 0.2, you
    assert answer.startswith("june: ") and answer[6:].strip()


def test_a_piped_text_chat_is_one_conversation_until_new(june_stack: Stack, key: str) -> None:
    stdin = "My name is Ada.\n\nWhat is my name?\n/new\nSay hello.\n"
    result = chat(june_stack, "--json", "--max-tokens", "16", stdin=stdin, key=key)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["text"] for t in turns] == ["My name is Ada.", "What is my name?", "Say hello."]
    assert all(t["answer"].strip() for t in turns)
    first, second, third = (t["conversation_id"] for t in turns)
    assert first == second and third != first
    conversation = httpx.get(
        f"{june_stack.base_url}/v1/conversations/{first}",
        headers=auth_header(user_token(june_stack, USER)),
        timeout=30,
    ).json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"] * 2
    assert f"conversation {third}" in result.stderr


def test_a_text_chat_streams_answers_and_can_resume_a_conversation(
    june_stack: Stack, key: str
) -> None:
    first = chat(june_stack, "--json", "--max-tokens", "12", stdin="Say hi.\n", key=key)
    assert first.returncode == 0, first.stderr
    conversation = json.loads(first.stdout)["conversation_id"]
    args = ["--conversation", conversation, "--max-tokens", "12"]
    again = chat(june_stack, *args, stdin="Say bye.\n", key=key)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("june: ") and lines[0][6:].strip()
    assert f"conversation {conversation}" in again.stderr


def test_a_user_can_log_in_with_a_password_on_stdin(june_stack: Stack) -> None:
    args = ["--user", USER, "--password-stdin", "--max-tokens", "12"]
    result = chat(june_stack, *args, stdin=f"{PASSWORD}\nSay hi.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("june: ")
    wrong = chat(june_stack, *args, stdin="not the password\nSay hi.\n")
    assert wrong.returncode == 1
    assert "wrong name or password" in wrong.stderr


def test_a_gateway_that_is_down_is_named_with_the_way_out(june_stack: Stack) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = june(june_stack, "chat", "--url", url, "--api-key", "june_x", stdin="Hi.\n")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: the gateway is unavailable at {url}; start June with `june up`"
    )


@pytest.mark.parametrize("bad", ["june_" + "x" * 43, "not-a-token"])
def test_a_bad_key_is_refused_with_exit_1(june_stack: Stack, bad: str) -> None:
    result = chat(june_stack, stdin="Hi.\n", key=bad)
    assert result.returncode == 1
    assert "refused the token" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_key_may_come_from_the_environment(june_stack: Stack, key: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "june", "chat", "--url", june_stack.base_url, "--max-tokens", "8"],
        env={**june_stack.env, "JUNE_API_KEY": key},
        cwd=june_stack.tmp,
        input="Say hi.\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("june: ")


def test_an_unknown_conversation_or_no_credentials_are_clear_errors(
    june_stack: Stack, key: str, tmp_path: Path
) -> None:
    unknown = str(uuid.uuid4())
    result = chat(june_stack, "--conversation", unknown, stdin="Hi.\n", key=key)
    assert result.returncode == 1 and f"no conversation {unknown}" in result.stderr
    result = chat(june_stack, stdin="Hi.\n")
    assert result.returncode == 2 and "--api-key" in result.stderr
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not a recording\n" * 20)
    result = chat(june_stack, "--audio", str(not_audio), key=key)
    assert result.returncode == 1 and str(not_audio) in result.stderr
    assert "Traceback" not in result.stderr
