"""Barge-in: real interruptions stop June; coughs, noises and backchannels do not."""

from __future__ import annotations

import pytest

from june.settings import load_settings
from june.voice.bargein import BargeInPolicy

POLICY = BargeInPolicy(min_speech_s=0.6, min_words=1)


@pytest.mark.parametrize(
    ("speech_s", "transcript", "interrupts"),
    [
        (0.2, "", False),  # a cough: too short, no words
        (0.3, "stop stop stop", False),  # words, but too short to be sure
        (0.8, "", False),  # a door slam: long enough, no words
        (0.9, "yeah", False),
        (1.0, "mm-hm, okay.", False),
        (1.2, "Yeah, right, I see.", False),
        (0.9, "uh huh", False),
        (0.9, "wait", True),
        (0.8, "Stop!", True),
        (0.9, "Thank you.", False),  # what Whisper hears in a noise
        (0.9, "wait, stop", True),
        (1.1, "No, I meant Tuesday", True),
        (1.5, "Okay but what about tomorrow?", True),
        (0.7, "Can you repeat that", True),
        (0.7, "Attends, arrête", True),  # any language
    ],
)
def test_what_interrupts(speech_s: float, transcript: str, interrupts: bool) -> None:
    assert POLICY.interrupts(speech_s, transcript) is interrupts


def test_thresholds_come_from_settings() -> None:
    settings = load_settings(gateway={"barge_in_min_speech_ms": 300, "barge_in_min_words": 2})
    policy = BargeInPolicy(
        settings.gateway.barge_in_min_speech_ms / 1000, settings.gateway.barge_in_min_words
    )
    assert policy.interrupts(0.4, "wait, stop")
    assert not policy.interrupts(0.4, "wait")
    assert not policy.interrupts(0.2, "wait, stop")
