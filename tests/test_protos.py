"""The internal gRPC API: the .proto files compile at import time and their messages round-trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from june import protos
from june.protos import asr_pb2, asr_pb2_grpc, llm_pb2, llm_pb2_grpc, tts_pb2, tts_pb2_grpc

REPO = Path(__file__).resolve().parents[1]


def _methods(pb2: object, service: str) -> dict[str, tuple[bool, bool]]:
    """``{method: (client_streaming, server_streaming)}`` of a service, from its descriptor."""
    descriptor = pb2.DESCRIPTOR.services_by_name[service]  # type: ignore[attr-defined]
    return {m.name: (m.client_streaming, m.server_streaming) for m in descriptor.methods}


def test_services_have_the_designed_methods() -> None:
    assert _methods(asr_pb2, "Recognizer") == {
        "Recognize": (False, False),
        "RecognizeStream": (True, True),
    }
    assert _methods(tts_pb2, "Synthesizer") == {
        "Synthesize": (False, True),
        "SynthesizeStream": (True, True),
        "ListVoices": (False, False),
    }
    assert _methods(llm_pb2, "Inference") == {
        "Chat": (False, True),
        "Embed": (False, False),
        "IngestDocument": (True, True),
        "SearchDocuments": (False, False),
        "ListDocuments": (False, False),
        "RemoveDocuments": (False, False),
    }
    for pb2, key in ((asr_pb2, "asr"), (tts_pb2, "tts"), (llm_pb2, "llm")):
        (service,) = pb2.DESCRIPTOR.services_by_name.values()
        assert service.full_name == protos.GRPC_SERVICE_NAMES[key]  # type: ignore[index]
    # Stubs and servicers are generated too.
    assert asr_pb2_grpc.RecognizerStub and asr_pb2_grpc.add_RecognizerServicer_to_server
    assert tts_pb2_grpc.SynthesizerStub and llm_pb2_grpc.InferenceStub


def test_asr_stream_messages_round_trip() -> None:
    config = asr_pb2.RecognizeStreamRequest(
        config=asr_pb2.StreamConfig(
            config=asr_pb2.RecognitionConfig(
                encoding=asr_pb2.AUDIO_ENCODING_PCM_S16LE,
                sample_rate_hz=16000,
                channels=1,
                language="en",
                word_timestamps=True,
                vad=False,
            ),
            interim_results=True,
        )
    )
    parsed = asr_pb2.RecognizeStreamRequest.FromString(config.SerializeToString())
    assert parsed == config
    assert parsed.WhichOneof("request") == "config"
    assert parsed.config.config.HasField("vad") and parsed.config.config.vad is False
    assert not asr_pb2.RecognitionConfig().HasField("vad")  # unset means "on"

    end = asr_pb2.RecognizeStreamRequest(end=asr_pb2.EndOfInput())
    assert asr_pb2.RecognizeStreamRequest.FromString(end.SerializeToString()).HasField("end")

    final = asr_pb2.RecognizeStreamResponse(
        final=asr_pb2.Transcript(
            text="hello world",
            language="en",
            confidence=0.9,
            end_s=1.5,
            segments=[
                asr_pb2.Segment(
                    text="hello world",
                    end_s=1.5,
                    words=[
                        asr_pb2.Word(word="hello", start_s=0.0, end_s=0.6, probability=0.95),
                        asr_pb2.Word(word="world", start_s=0.7, end_s=1.5, probability=0.9),
                    ],
                )
            ],
            utterance_index=2,
        )
    )
    parsed_final = asr_pb2.RecognizeStreamResponse.FromString(final.SerializeToString())
    assert parsed_final.WhichOneof("event") == "final"
    assert [w.word for w in parsed_final.final.segments[0].words] == ["hello", "world"]
    assert parsed_final.final.utterance_index == 2


def test_tts_messages_round_trip() -> None:
    request = tts_pb2.SynthesizeRequest(
        text="Hello there.",
        config=tts_pb2.SynthesisConfig(
            voice="piper-en_US-joe-medium", format=tts_pb2.AUDIO_FORMAT_OGG_OPUS
        ),
    )
    assert tts_pb2.SynthesizeRequest.FromString(request.SerializeToString()) == request
    assert tts_pb2.AudioFormat.Name(0) == "AUDIO_FORMAT_UNSPECIFIED"
    assert {tts_pb2.AudioFormat.Name(v) for v in (1, 2, 3, 4)} == {
        "AUDIO_FORMAT_PCM_S16LE",
        "AUDIO_FORMAT_WAV",
        "AUDIO_FORMAT_OGG_OPUS",
        "AUDIO_FORMAT_MP3",
    }
    chunk = tts_pb2.SynthesizeResponse(
        audio=b"\x00\x01" * 10,
        format=tts_pb2.AUDIO_FORMAT_PCM_S16LE,
        sample_rate_hz=22050,
        channels=1,
        summary=tts_pb2.SynthesisSummary(characters=12, audio_s=0.8),
    )
    parsed = tts_pb2.SynthesizeResponse.FromString(chunk.SerializeToString())
    assert parsed.sample_rate_hz == 22050 and parsed.HasField("summary")
    delta = tts_pb2.SynthesizeStreamRequest(text="Hel")
    assert tts_pb2.SynthesizeStreamRequest.FromString(delta.SerializeToString()).text == "Hel"


def test_llm_messages_round_trip() -> None:
    request = llm_pb2.ChatRequest(
        user_id="owner",
        messages=[llm_pb2.Message(role=llm_pb2.ROLE_USER, content="What's on my list?")],
        options=llm_pb2.ChatOptions(max_tokens=64, temperature=0.0, use_documents=False),
    )
    parsed = llm_pb2.ChatRequest.FromString(request.SerializeToString())
    assert parsed == request
    assert parsed.options.HasField("temperature") and parsed.options.temperature == 0.0
    assert not parsed.options.HasField("use_tools")

    events = [
        llm_pb2.ChatResponse(started=llm_pb2.ChatStarted(conversation_id="c1")),
        llm_pb2.ChatResponse(delta=llm_pb2.TextDelta(text="Milk")),
        llm_pb2.ChatResponse(
            tool_call=llm_pb2.ToolCall(id="t1", name="search_documents", arguments_json="{}")
        ),
        llm_pb2.ChatResponse(
            done=llm_pb2.ChatDone(
                finish_reason=llm_pb2.FINISH_REASON_STOP,
                usage=llm_pb2.Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13),
                timings=llm_pb2.ChatTimings(time_to_first_token_s=0.12),
            )
        ),
    ]
    kinds = [
        llm_pb2.ChatResponse.FromString(e.SerializeToString()).WhichOneof("event") for e in events
    ]
    assert kinds == ["started", "delta", "tool_call", "done"]

    document = llm_pb2.Document(id="d1", name="notes.md", chunk_count=3)
    document.created_at.FromSeconds(1_700_000_000)
    parsed_doc = llm_pb2.Document.FromString(document.SerializeToString())
    assert parsed_doc.created_at.ToSeconds() == 1_700_000_000
    hits = llm_pb2.SearchDocumentsResponse(
        hits=[llm_pb2.SearchHit(document_name="notes.md", score=0.8, text="milk")]
    )
    assert llm_pb2.SearchDocumentsResponse.FromString(hits.SerializeToString()).hits[0].score == (
        pytest.approx(0.8)
    )


def test_load_is_cached_and_writes_nothing() -> None:
    assert protos.load("asr") == (asr_pb2, asr_pb2_grpc)
    assert protos.proto_dir() == REPO / "proto" or protos.proto_dir().name == "_proto"
    generated = [p for p in (REPO / "proto").rglob("*") if p.suffix != ".proto"]
    generated += list((REPO / "src").rglob("*_pb2*.py"))
    assert generated == []


def test_proto_dir_prefers_the_wheel_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a wheel the files are ``june/_proto/*.proto`` beside ``june/protos.py``."""
    package = tmp_path / "site-packages" / "june"
    shutil.copytree(REPO / "proto", package / "_proto")
    monkeypatch.setattr(protos, "__file__", str(package / "protos.py"))
    assert protos.proto_dir() == package / "_proto"

    monkeypatch.setattr(protos, "__file__", str(tmp_path / "elsewhere" / "june" / "protos.py"))
    with pytest.raises(RuntimeError, match=r"\.proto files are missing"):
        protos.proto_dir()
