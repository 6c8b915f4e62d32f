"""When speech from the user interrupts June's answer, and when it does not.

A person talking over June stops the answer at once — but a cough, a door, a
breath or a one-word backchannel ("yeah", "ok", "mm-hm") while June speaks is
not an interruption. The rule is pure (no clock, no audio) so it can be tested
alone and applied the same way by every client: speech counts as an
interruption once it has lasted ``min_speech_s`` *and* its transcript has at
least ``min_words`` words that are not backchannels. Both thresholds are
settings (``JUNE_GATEWAY_BARGE_IN_MIN_SPEECH_MS``, ``JUNE_GATEWAY_BARGE_IN_MIN_WORDS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words that acknowledge rather than interrupt (lower case, punctuation stripped).
BACKCHANNELS: frozenset[str] = frozenset(
    {
        "yeah",
        "yes",
        "yep",
        "yup",
        "ok",
        "okay",
        "k",
        "right",
        "sure",
        "uh",
        "huh",
        "uh-huh",
        "uhhuh",
        "mm",
        "mhm",
        "mm-hm",
        "mmhm",
        "hm",
        "hmm",
        "ah",
        "oh",
        "aha",
        "cool",
        "nice",
        "great",
        "alright",
        "got",
        "it",
        "i",
        "see",
        "wow",
        "true",
        # what Whisper tends to hear in a noise
        "you",
        "thank",
        "thanks",
    }
)
_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class BargeInPolicy:
    min_speech_s: float = 0.6
    min_words: int = 1

    def content_words(self, transcript: str) -> list[str]:
        words = [w.strip("'-").lower() for w in _WORD.findall(transcript)]
        return [w for w in words if w and w not in BACKCHANNELS]

    def interrupts(self, speech_s: float, transcript: str) -> bool:
        """True when this much speech, saying this, should stop June's answer."""
        if speech_s < self.min_speech_s:
            return False
        return len(self.content_words(transcript)) >= self.min_words
