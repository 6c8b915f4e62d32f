"""Text on its way to the voice: what to say (normalization) and when (sentence splitting).

Use them in this order on an LLM stream::

    splitter = SentenceSplitter()
    for delta in llm_deltas:
        for sentence in splitter.push(delta):
            speak(normalize_for_speech(sentence))   # skip it if this returns ""
    for sentence in splitter.flush():
        speak(normalize_for_speech(sentence))

The splitter works on the raw markdown (line starts tell it where bullets,
headings and code fences are); normalization then turns each piece into plain
words. A piece can normalize to "" (a table's delimiter row, a rule, an
emoji-only line): send nothing to TTS for it.
"""

from june.tts.text.normalize import normalize_for_speech
from june.tts.text.splitter import SentenceSplitter, split_sentences

__all__ = ["SentenceSplitter", "normalize_for_speech", "split_sentences"]
