"""Engine results → ``june.asr.v1`` messages (the one place that knows both shapes)."""

from __future__ import annotations

from june.protos import asr_pb2
from june.stt.engine import TranscriptResult


def transcript_message(result: TranscriptResult, utterance_index: int = 0) -> asr_pb2.Transcript:
    return asr_pb2.Transcript(
        text=result.text,
        language=result.language,
        language_probability=result.language_probability,
        confidence=result.confidence,
        start_s=result.start_s,
        end_s=result.end_s,
        utterance_index=utterance_index,
        segments=[
            asr_pb2.Segment(
                text=s.text,
                start_s=s.start_s,
                end_s=s.end_s,
                confidence=s.confidence,
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                words=[
                    asr_pb2.Word(
                        word=w.word, start_s=w.start_s, end_s=w.end_s, probability=w.probability
                    )
                    for w in s.words
                ],
            )
            for s in result.segments
        ],
    )


def timing_message(audio_s: float, processing_s: float) -> asr_pb2.Timing:
    return asr_pb2.Timing(
        audio_s=audio_s,
        processing_s=processing_s,
        real_time_factor=processing_s / audio_s if audio_s > 0 else 0.0,
    )
