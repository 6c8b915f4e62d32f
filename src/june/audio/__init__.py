"""June's one audio module: anything in → 16 kHz mono float32; PCM out → WAV, OGG/Opus, MP3, FLAC.

Everything goes through PyAV (FFmpeg). Input problems are :class:`AudioError`
with a ``code`` and a sentence for the user; see :mod:`june.audio.decode` for
what counts as truncated, :mod:`june.audio.encode` for output rates, and
:mod:`june.audio.stream` for incremental decoding and encoding.

FFmpeg's own log stays off (``av.logging.set_level(None)``, PyAV's default,
made explicit here): with it on, every damaged upload prints lines to stderr,
and PyAV's log callback is known to deadlock and contend under threads
(PyAV-Org/PyAV#751, #2276), which the stream decoder and the services use.
What FFmpeg reports reaches the user through the exception instead.
"""

from __future__ import annotations

import av.logging

from june.audio.decode import SAMPLE_RATE, decode_audio, decode_file, iter_decode
from june.audio.encode import (
    OPUS_SAMPLE_RATE,
    OUTPUT_FORMATS,
    OutputFormat,
    StreamEncoder,
    available_output_formats,
    content_type,
    encode_audio,
    file_extension,
    output_sample_rate,
    parse_output_format,
    wav_header,
)
from june.audio.errors import AudioError, AudioLimits, ErrorCode
from june.audio.pcm import PcmEncoding, is_silent, loudness_dbfs, pcm_to_float
from june.audio.stream import StreamDecoder

av.logging.set_level(None)

__all__ = [
    "OPUS_SAMPLE_RATE",
    "OUTPUT_FORMATS",
    "SAMPLE_RATE",
    "AudioError",
    "AudioLimits",
    "ErrorCode",
    "OutputFormat",
    "PcmEncoding",
    "StreamDecoder",
    "StreamEncoder",
    "available_output_formats",
    "content_type",
    "decode_audio",
    "decode_file",
    "encode_audio",
    "file_extension",
    "is_silent",
    "iter_decode",
    "loudness_dbfs",
    "output_sample_rate",
    "parse_output_format",
    "pcm_to_float",
    "wav_header",
]
