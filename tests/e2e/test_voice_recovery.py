"""A voice session through ``june up`` survives a model service dying mid-turn.

The supervisor restarts the killed process; meanwhile the client gets an
``error`` event naming the stage, the WebSocket stays open, and the next turn
on the same socket is answered once the service is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect

from june.settings import Settings
from tests.june_up import RunningJune, start_june, stop_june, wait_healthy
from tests.speech import load_clip, wer
from tests.voice_support import LONG_ANSWER, pcm16, silence

pytestmark = pytest.mark.slow


def _june(env: dict[str, str], *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "june", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def _next(ws: ClientConnection, kind: str, timeout: float = 60) -> dict[str, Any]:
    """The next JSON event of ``kind`` (binary audio frames and other events are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                continue
            event = json.loads(frame)
            if event["type"] == kind:
                return event
            if event["type"] == "error" and kind != "error":
                raise AssertionError(f"unexpected error while waiting for {kind}: {event}")


async def _kill_mid_turn(
    june: RunningJune, env: dict[str, str], ws: ClientConnection, service: str, stage: str
) -> None:
    pid = june.service_pid(service)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    error = await _next(ws, "error", timeout=60)
    assert error["stage"] == stage and error["code"] == "unavailable", error
    assert "unavailable" in error["message"]
    june.wait_for(f"{service} exited with code -9", timeout=30)
    report = await asyncio.to_thread(wait_healthy, env, 120)
    assert report["healthy"], report


async def test_a_killed_service_gives_a_stage_error_and_the_session_recovers(
    june_env: tuple[Settings, dict[str, str], Path],
) -> None:
    settings, env, _ = june_env
    june = start_june(env)
    try:
        june.wait_for("June is up", timeout=240)
        _june(env, "users", "add", "ada", "--password-stdin", stdin="correct horse battery\n")
        key = _june(env, "keys", "create", "recovery", "--user", "ada")
        url = f"ws://127.0.0.1:{settings.gateway.port}/v1/realtime"
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
            await _next(ws, "session.started")
            await ws.send(json.dumps({"type": "session.update", "max_tokens": 300}))
            await _next(ws, "session.started")

            # inference dies while it writes the answer
            await ws.send(json.dumps({"type": "text", "text": LONG_ANSWER}))
            await _next(ws, "answer.delta", timeout=120)
            await _kill_mid_turn(june, env, ws, "inference", "llm")
            await ws.send(json.dumps({"type": "session.update", "max_tokens": 16}))
            await _next(ws, "session.started")
            await ws.send(json.dumps({"type": "text", "text": "Say hello."}))
            done = await _next(ws, "turn.done", timeout=120)
            assert done["text"].strip()

            # stt dies while the person speaks
            clip = load_clip("1089-134686-0010")
            half = pcm16(clip.pcm[: len(clip.pcm) // 2])
            for i in range(0, len(half), 3200):
                await ws.send(half[i : i + 3200])
            await _next(ws, "speech.started", timeout=30)
            await _kill_mid_turn(june, env, ws, "stt", "stt")
            audio = pcm16(np.concatenate([clip.pcm, silence(1.5)]))
            for i in range(0, len(audio), 3200):
                await ws.send(audio[i : i + 3200])
                await asyncio.sleep(0.02)
            final = await _next(ws, "transcript.final", timeout=60)
            assert wer(clip.text, final["text"]) <= 0.2, final
            await _next(ws, "turn.done", timeout=120)
        stop_june(june)
    finally:
        if june.proc.poll() is None:
            june.proc.kill()
