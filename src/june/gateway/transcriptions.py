"""A stt ``RecognizeResponse`` in the shapes of OpenAI's ``/v1/audio/transcriptions``.

``json`` (``{"text"}``), ``text`` (the bare text), ``verbose_json`` (task,
language by name, duration, text, segments, and words when asked), ``srt`` and
``vtt``. OpenAI's segments also carry ``seek``, ``tokens``, ``temperature`` and
``compression_ratio``, which describe Whisper's decoding loop; June's stt
service does not report them, so they are given as neutral values (0, [], 0.0,
1.0) and a client that reads them keeps working.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from june.gateway.languages import language_name
from june.gateway.subtitles import Cue, srt, vtt
from june.protos import asr_pb2

ResponseFormat = Literal["json", "text", "verbose_json", "srt", "vtt"]
RESPONSE_FORMATS: tuple[str, ...] = get_args(ResponseFormat)


def verbose(response: asr_pb2.RecognizeResponse, words: bool) -> dict[str, Any]:
    transcript = response.transcript
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": language_name(transcript.language),
        "duration": round(response.timing.audio_s, 3),
        "text": transcript.text,
        "segments": [
            {
                "id": i,
                "seek": 0,
                "start": round(s.start_s, 3),
                "end": round(s.end_s, 3),
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": round(s.avg_logprob, 4),
                "compression_ratio": 1.0,
                "no_speech_prob": round(s.no_speech_prob, 4),
            }
            for i, s in enumerate(transcript.segments)
        ],
    }
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start_s, 3), "end": round(w.end_s, 3)}
            for s in transcript.segments
            for w in s.words
        ]
    return body


def render(
    response: asr_pb2.RecognizeResponse, fmt: ResponseFormat, words: bool = False
) -> Response:
    """The HTTP response for ``fmt`` (text formats as ``text/plain``, as OpenAI sends them)."""
    transcript = response.transcript
    if fmt == "json":
        return JSONResponse({"text": transcript.text})
    if fmt == "verbose_json":
        return JSONResponse(verbose(response, words))
    if fmt == "text":
        return PlainTextResponse(transcript.text + "\n")
    cues = [Cue(s.start_s, s.end_s, s.text) for s in transcript.segments]
    if not cues and transcript.text:
        cues = [Cue(transcript.start_s, transcript.end_s, transcript.text)]
    if fmt == "srt":
        return PlainTextResponse(srt(cues))
    return PlainTextResponse(vtt(cues), media_type="text/vtt")
