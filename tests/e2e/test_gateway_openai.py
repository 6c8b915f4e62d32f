"""The OpenAI-compatible API against a real June, spoken to by the official ``openai`` client.

Everything runs for real (``june_stack``: stt, tts, inference and gateway
processes on PostgreSQL and NATS): real speech is transcribed in every
response format, speech is decoded back with PyAV and transcribed again, and
the bundled LLM answers (a few tokens each, to keep a 2-core CPU quick).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import av
import httpx
import numpy as np
import openai
import pytest

from june.audio import decode_audio, is_silent, pcm_to_float
from june.gateway.voices import alias_voice
from tests.gateway_users import api_key, auth_header, user_token
from tests.speech import load_clip, wer
from tests.stack import Stack

CLIP = "1089-134686-0010"  # "well now ennis i declare you have a head and so has my stick"
WORDS_CLIP = "1089-134686-0001"  # "stuff it into you his belly counselled him"
SENTENCES = "Good morning. The weather is bright and calm today. Let us walk to the park."
CHAT = {"max_tokens": 16, "temperature": 0.0, "seed": 7}


@pytest.fixture(scope="module")
def token(june_stack: Stack) -> str:
    return user_token(june_stack, "openai-ada")


@pytest.fixture(scope="module")
def client(june_stack: Stack, token: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=june_stack.base_url + "/v1", api_key=token, max_retries=0, timeout=120
    ) as c:
        yield c


@pytest.fixture(scope="module")
def http(june_stack: Stack, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=june_stack.base_url, headers=auth_header(token), timeout=120) as c:
        yield c


def clip_upload() -> tuple[str, bytes, str]:
    clip = load_clip(CLIP)
    return (clip.path.name, clip.path.read_bytes(), "audio/flac")


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    for word in words:
        assert word in error["message"], error
    return error


# ------------------------------------------------------------------ transcriptions
def test_transcription_json_text_and_verbose_json(client: openai.OpenAI) -> None:
    reference = load_clip(CLIP).text
    result = client.audio.transcriptions.create(model="whisper-1", file=clip_upload())
    assert wer(reference, result.text) <= 0.2, result.text

    text = client.audio.transcriptions.create(
        model="whisper-1", file=clip_upload(), response_format="text"
    )
    assert isinstance(text, str) and wer(reference, text) <= 0.2, text

    verbose = client.audio.transcriptions.create(
        model="whisper-1",
        file=clip_upload(),
        response_format="verbose_json",
        language="en",
        temperature=0.3,  # accepted, ignored
    )
    assert verbose.language == "english" and wer(reference, verbose.text) <= 0.2
    assert verbose.duration == pytest.approx(4.4, abs=0.1)
    assert verbose.segments and not verbose.words
    first = verbose.segments[0]
    assert first.id == 0 and 0 <= first.start < first.end <= verbose.duration + 0.1
    assert first.avg_logprob < 0 and 0 <= first.no_speech_prob <= 1


def test_transcription_verbose_json_with_words(client: openai.OpenAI) -> None:
    # A clip whose word-timestamp decoding is stable: with word timestamps the stt engine
    # may add a hallucinated "Thank you." after the speech on other clips (see the report).
    clip = load_clip(WORDS_CLIP)
    verbose = client.audio.transcriptions.create(
        model="whisper-1",
        file=(clip.path.name, clip.path.read_bytes()),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert wer(clip.text, verbose.text) <= 0.2, verbose.text
    assert verbose.words and verbose.segments
    spoken = " ".join(w.word for w in verbose.words)
    assert wer(clip.text, spoken) <= 0.2, spoken
    assert all(a.start <= b.start for a, b in zip(verbose.words, verbose.words[1:], strict=False))
    assert all(0 <= w.start <= w.end <= verbose.duration + 0.1 for w in verbose.words)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_transcription_subtitles_parse(client: openai.OpenAI, fmt: str) -> None:
    subtitles = client.audio.transcriptions.create(
        model="whisper-1", file=clip_upload(), response_format=fmt
    )
    assert isinstance(subtitles, str)
    mark = "," if fmt == "srt" else r"\."
    stamp = rf"(\d\d):(\d\d):(\d\d){mark}(\d\d\d)"
    cue = re.compile(rf"{stamp} --> {stamp}\n(.+)")
    if fmt == "vtt":
        assert subtitles.startswith("WEBVTT\n\n")
    else:
        assert subtitles.startswith("1\n")
    cues = cue.findall(subtitles)
    assert cues, subtitles
    for *times, _ in cues:
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, times)
        assert h1 * 3600 + m1 * 60 + s1 + ms1 / 1000 <= h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
    text = " ".join(c[-1] for c in cues)
    assert wer(load_clip(CLIP).text, text) <= 0.2, text


def test_transcription_model_names(client: openai.OpenAI, june_stack: Stack) -> None:
    served = june_stack.env.get("JUNE_STT_MODEL", "whisper-tiny.en")
    result = client.audio.transcriptions.create(model=served, file=clip_upload())
    assert wer(load_clip(CLIP).text, result.text) <= 0.2
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(model="gpt-4o-transcribe", file=clip_upload())
    assert "whisper-1" in str(refused.value) and served in str(refused.value)


def test_malformed_uploads_are_400_and_the_next_request_works(http: httpx.Client) -> None:
    url = "/v1/audio/transcriptions"
    not_audio = {"file": ("notes.wav", b"these are my shopping notes\n" * 40, "audio/wav")}
    assert_error(http.post(url, files=not_audio, data={"model": "whisper-1"}), 400)
    empty = {"file": ("empty.mp3", b"", "audio/mpeg")}
    assert_error(http.post(url, files=empty, data={"model": "whisper-1"}), 400, "empty")
    missing = http.post(url, data={"model": "whisper-1"}, files={"x": ("x", b"1")})
    assert_error(missing, 400, "file")
    bad_format = {"file": clip_upload()}
    error = assert_error(
        http.post(url, files=bad_format, data={"response_format": "xml"}), 400, "xml", "srt"
    )
    assert error["code"] == "invalid_request"

    good = http.post(url, files={"file": clip_upload()}, data={"model": "whisper-1"})
    assert good.status_code == 200, good.text
    assert wer(load_clip(CLIP).text, good.json()["text"]) <= 0.2


def test_an_api_key_works_as_the_openai_key(june_stack: Stack, token: str) -> None:
    key = api_key(june_stack, "openai-ada", "openai-test")
    with openai.OpenAI(base_url=june_stack.base_url + "/v1", api_key=key, max_retries=0) as c:
        assert c.audio.transcriptions.create(model="whisper-1", file=clip_upload()).text
    stranger = openai.OpenAI(base_url=june_stack.base_url + "/v1", api_key="no", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError):
        stranger.models.list()


# ------------------------------------------------------------------------- speech
def _decoded(data: bytes, fmt: str) -> tuple[int, np.ndarray]:
    """(declared sample rate, 16 kHz mono samples) of speech in ``fmt``."""
    if fmt == "pcm":
        return 24_000, pcm_to_float(data, "s16le", 24_000)
    with av.open(io.BytesIO(data)) as box:
        rate = box.streams.audio[0].rate
    return rate, decode_audio(data)


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("wav", "audio/wav"), ("pcm", "audio/pcm")],
)
def test_speech_in_each_format_decodes_to_sound(
    client: openai.OpenAI, fmt: str, content_type: str
) -> None:
    response = client.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input="Hello from June.", response_format=fmt
    )
    assert response.headers["content-type"].startswith(content_type)
    declared = int(response.headers["x-june-sample-rate"])
    rate, samples = _decoded(response.content, fmt)
    # Opus is always 48 kHz; pcm is OpenAI's 24 kHz; mp3 and wav keep the voice's own rate
    # (alloy is the default voice, Piper's joe-medium at 22.05 kHz, an MPEG rate too).
    expected = {"opus": 48_000, "pcm": 24_000}.get(fmt, 22_050)
    assert rate == expected and declared == expected  # the header tells the truth
    assert 0.5 < len(samples) / 16_000 < 4.0
    assert not is_silent(samples)


def test_speech_streams_while_it_is_made(client: openai.OpenAI) -> None:
    chunks: list[bytes] = []
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="nova", input=SENTENCES, response_format="pcm"
    ) as response:
        assert response.headers["content-type"].startswith("audio/pcm")
        chunks.extend(chunk for chunk in response.iter_bytes() if chunk)
    assert len(chunks) >= 3, [len(c) for c in chunks]
    samples = np.frombuffer(b"".join(chunks), dtype="<i2")
    assert len(samples) / 24_000 > 3.0


def test_speech_speed_voices_and_refusals(client: openai.OpenAI, http: httpx.Client) -> None:
    def seconds(**extra: object) -> float:
        body = {"model": "tts-1", "input": "One two three four five.", "response_format": "pcm"}
        response = http.post("/v1/audio/speech", json={**body, **extra})
        assert response.status_code == 200, response.text
        return len(response.content) / 2 / 24_000

    assert seconds(voice="echo", speed=2.0) < 0.75 * seconds(voice="echo")
    assert seconds(voice="piper-en_US-joe-medium", model="piper-en_US-joe-medium") > 0.5

    speech = "/v1/audio/speech"
    refused = http.post(speech, json={"model": "tts-1", "input": "hi", "voice": "darth"})
    assert_error(refused, 400, "darth", "alloy", "piper-en_US-joe-medium")
    flac = {"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "flac"}
    assert_error(http.post(speech, json=flac), 400, "flac", "not supported", "mp3")
    assert_error(http.post(speech, json={"model": "tts-1", "input": "  "}), 400, "empty")
    too_fast = {"model": "tts-1", "input": "hi", "speed": 9}
    assert_error(http.post(speech, json=too_fast), 400, "speed")
    assert_error(http.post(speech, json={"model": "tts-9", "input": "hi"}), 400, "tts-1")
    with pytest.raises(openai.BadRequestError):
        client.audio.speech.create(model="tts-1", voice="darth", input="hi")  # type: ignore[arg-type]


def test_speech_round_trip_is_recognised(client: openai.OpenAI) -> None:
    said = "The weather is bright and calm today."
    audio = client.audio.speech.create(
        model="tts-1", voice="alloy", input=said, response_format="wav"
    ).content
    heard = client.audio.transcriptions.create(model="whisper-1", file=("said.wav", audio))
    assert wer(said, heard.text) <= 0.2, heard.text


# --------------------------------------------------------------- chat completions
def test_chat_completion_whole(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="june",
        messages=[
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
        ],
        **CHAT,
    )
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 16
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert "conversation_id" not in (completion.model_extra or {})  # ephemeral: nothing stored


def test_chat_completion_streams(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="june",
        messages=[{"role": "user", "content": "Tell me about the sea."}],
        stream=True,
        stream_options={"include_usage": True},
        **CHAT,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_chat_completion_with_memory(client: openai.OpenAI, http: httpx.Client) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="june",
        messages=[{"role": "user", "content": "My cat is called Tom."}],
        extra_body={"conversation_id": "new"},
        **CHAT,
    )
    first = raw.parse()
    conversation = (first.model_extra or {})["conversation_id"]
    assert raw.headers["x-june-conversation-id"] == conversation

    follow_up = client.chat.completions.create(
        model="june",
        messages=[
            {"role": "user", "content": "ignored: June holds the history"},
            {"role": "user", "content": "What is my cat called?"},
        ],
        extra_headers={"X-June-Conversation-Id": conversation},
        **CHAT,
    )
    assert (follow_up.model_extra or {})["conversation_id"] == conversation

    stored = http.get(f"/v1/conversations/{conversation}")
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert body["id"] == conversation and body["message_count"] == 4
    roles = [(m["role"], m["text"]) for m in body["messages"]]
    assert roles[0] == ("user", "My cat is called Tom.")
    assert roles[2] == ("user", "What is my cat called?")
    assert [r for r, _ in roles] == ["user", "assistant", "user", "assistant"]
    assert roles[3][1] == follow_up.choices[0].message.content
    answer = body["messages"][3]
    assert answer["created_at"] and answer["timings"]["total_s"] > 0


def test_chat_refusals(client: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(
            model="gpt-5", messages=[{"role": "user", "content": "hi"}], **CHAT
        )
    assert "june" in str(unknown.value)
    chat = "/v1/chat/completions"
    last_assistant = {"model": "june", "messages": [{"role": "assistant", "content": "hi"}]}
    assert_error(http.post(chat, json=last_assistant), 400, "user message")
    image = {
        "model": "june",
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
    }
    assert_error(http.post(chat, json=image), 400, "image_url")
    stranger = {
        "model": "june",
        "conversation_id": "6f1c7a52-3c1e-4a43-9d2e-3f4a3b1f2d10",
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert_error(http.post(chat, json=stranger), 404)
    assert_error(http.post(chat, json={"model": "june", "messages": []}), 400, "messages")


# ------------------------------------------------------------------------- models
def test_models_list_and_retrieve(client: openai.OpenAI, june_stack: Stack) -> None:
    ids = {m.id for m in client.models.list()}
    stt = june_stack.env.get("JUNE_STT_MODEL", "whisper-tiny.en")
    assert {"june", "whisper-1", stt, "tts-1", "gemma-3-270m-q4_k_m"} <= ids
    assert "piper-en_US-joe-medium" in ids
    whisper = client.models.retrieve("whisper-1")
    assert whisper.id == "whisper-1" and (whisper.model_extra or {})["alias_of"] == stt
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("dall-e-3")


def test_voice_map_names_and_defaults() -> None:
    voice_map = {"nova": "piper-en_US-joe-medium", "Narrator": "piper-en_US-joe-medium"}
    assert alias_voice("Nova", voice_map) == "piper-en_US-joe-medium"
    assert alias_voice("narrator", voice_map) == "piper-en_US-joe-medium"
    assert alias_voice("shimmer", voice_map) == ""  # an OpenAI name left out: default voice
    assert alias_voice("", voice_map) == ""
    assert alias_voice("piper-en_US-joe-medium", voice_map) is None  # a voice id, not an alias
