"""One settings tree for every June process.

Environment variables use the prefix ``JUNE_`` and a single ``_`` between a
section and its field, so the names read as in DESIGN.md: ``JUNE_DATA_DIR``,
``JUNE_DATABASE_URL``, ``JUNE_NATS_URL``, ``JUNE_S3_ENDPOINT``,
``JUNE_STT_MODEL``, ``JUNE_STT_PORT``, ``JUNE_GATEWAY_PORT`` … Only the first
``_`` after a section name splits (``JUNE_STT_METRICS_PORT`` is
``stt.metrics_port``). A ``.env`` file in the working directory is read too.

Settings are built by :func:`load_settings`, never cached in a module global,
so tests and child processes can build their own from their own environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["gateway", "inference", "stt", "tts", "telegram"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("gateway", "inference", "stt", "tts", "telegram")


def default_data_dir() -> Path:
    """The platform's user data dir, e.g. ``~/.local/share/june`` on Linux."""
    return Path(platformdirs.user_data_dir("june", appauthor=False))


class GatewaySettings(BaseModel):
    port: int = 8000
    #: The web address printed by ``june up``; defaults to http://HOST:PORT.
    public_url: str | None = None
    #: Speech over June's answer interrupts it only past this duration and this many
    #: words that are not backchannels ("yeah", "ok"): see ``june.voice.bargein``.
    barge_in_min_speech_ms: int = 600
    barge_in_min_words: int = 1
    #: A voice-turn stage (stt after end of speech, the LLM, tts) silent this long is an error.
    stage_timeout_s: float = 30.0
    #: Start answering on the stt service's speculative transcript (dropped if speech resumes).
    speculative_answers: bool = True
    #: With raw PCM input, a speculative answer starts playing once the silence has lasted
    #: this long, before the end-point confirms it (it stops if the person goes on);
    #: 0: only when the final transcript confirms it.
    speculative_release_ms: int = 600
    #: Seconds between the realtime WebSocket's JSON heartbeats (``ping``).
    heartbeat_s: float = 20.0
    #: HS256 key that signs access and refresh tokens. Unset: one is generated on first use
    #: and kept in ``$JUNE_DATA_DIR/gateway/jwt_secret`` (mode 0600), which every gateway on
    #: that data dir shares; gateways on several hosts must all be given the same value
    #: (at least 32 characters, e.g. ``openssl rand -base64 48``).
    jwt_secret: SecretStr | None = None
    #: Lifetime of an access token (what every request carries) and of a refresh token
    #: (what gets a new access token without the password), in seconds.
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    #: Per-user limits over fixed one-minute windows, shared by every gateway through NATS;
    #: 0 switches a limit off. Audio seconds are counted once decoded (see june.gateway.ratelimit).
    rate_limit_requests_per_minute: int = 120
    rate_limit_audio_s_per_minute: float = 600.0
    #: Origins whose web pages may call the API (CORS). Unset: only the gateway's own web
    #: address (``public_url``, or http://HOST:PORT), where it serves the web app itself.
    cors_origins: list[str] | None = None
    #: Larger request bodies are refused with 413 (25 MiB, OpenAI's limit for audio uploads).
    max_request_bytes: int = 26_214_400
    #: The built web app served at ``/`` (unset: ``webapp/dist`` of the checkout June runs
    #: from, which ``scripts/run.sh`` builds).
    webapp_dir: Path | None = None
    #: OpenAI voice names on ``/v1/audio/speech`` → June voice ids ("": the tts service's
    #: default voice), e.g. ``JUNE_GATEWAY_VOICE_MAP='{"nova": "piper-en_US-joe-medium"}'``.
    #: A name given here may also be a new alias of your own.
    voice_map: dict[str, str] = Field(
        default_factory=lambda: {
            "alloy": "",
            "ash": "",
            "ballad": "",
            "coral": "",
            "echo": "",
            "fable": "",
            "onyx": "",
            "nova": "",
            "sage": "",
            "shimmer": "",
            "verse": "",
        }
    )


class GrpcServiceSettings(BaseModel):
    """Where a gRPC service listens (``port``) and serves /metrics and /health (``metrics_port``).

    ``address`` is where clients reach it; a comma-separated list of several
    replicas is allowed (client-side load balancing, see DESIGN.md).
    """

    port: int
    metrics_port: int
    address: str | None = None
    #: Requests served at once before RESOURCE_EXHAUSTED.
    max_concurrency: int = 4


class SttSettings(GrpcServiceSettings):
    port: int = 50052
    metrics_port: int = 8002
    model: str = "whisper-tiny.en"
    vad_model: str = "silero-vad"
    #: CTranslate2 device ("cpu", "cuda", "auto") and compute type ("int8", "float16", "default").
    device: str = "cpu"
    compute_type: str = "int8"
    #: Threads per transcription (0: CTranslate2 picks) and model replicas that decode in parallel.
    cpu_threads: int = 0
    workers: int = 1
    #: Beam size for final transcripts; partial hypotheses are always greedy.
    beam_size: int = 5
    #: ISO 639-1 code, or empty to detect (English-only models are always "en").
    language: str = ""
    #: Refuse larger uploads (RESOURCE_EXHAUSTED) before decoding them.
    max_audio_bytes: int = 50_000_000
    #: Refuse audio longer than this once decoded (RESOURCE_EXHAUSTED).
    max_audio_s: float = 900.0
    #: Streaming: silence that ends an utterance, and how often a partial hypothesis is made.
    #: A speculative final (see asr.proto) is sent ``tail_ms`` into a silence, so a voice
    #: turn need not wait for the end-point; a long end-point keeps utterances whole, which
    #: is what makes streaming as accurate as whole files (``june eval stt --stream``).
    endpoint_silence_ms: int = 1000
    partial_interval_ms: int = 600
    #: Streaming: audio kept before detected speech, and after it when a silence begins.
    pre_roll_ms: int = 600
    tail_ms: int = 200


class TtsSettings(GrpcServiceSettings):
    port: int = 50053
    metrics_port: int = 8003
    voice: str = "piper-en_US-joe-medium"
    #: Refuse longer texts (INVALID_ARGUMENT) — a whole answer, not a book.
    max_text_chars: int = 20_000
    #: Read numbers, dates, currencies, abbreviations and URLs out; drop markdown and emoji.
    normalize_text: bool = True
    #: Use onnxruntime's CUDA provider (a GPU build of onnxruntime is needed).
    use_cuda: bool = False
    #: Streamed text (an answer being written): the first piece spoken is cut at its first
    #: clause boundary past ``stream_first_clause_chars`` characters, else at a word boundary
    #: by ``stream_first_max_chars`` — so the first audio waits for a few words of the
    #: answer, not its whole first sentence. Later sentences are spoken whole.
    stream_first_clause_chars: int = 8
    stream_first_max_chars: int = 40


class InferenceSettings(GrpcServiceSettings):
    port: int = 50051
    metrics_port: int = 8001
    llm_model: str = "gemma-3-270m-q4_k_m"
    embedding_model: str = "all-minilm-l6-v2-int8"
    #: An OpenAI-compatible server (vLLM, llama.cpp server, Ollama); unset = llama.cpp in-process.
    #: ``http://host:8000`` or ``http://host:8000/v1`` (``/v1`` is added when missing).
    llm_url: str | None = None
    #: Bearer token for ``llm_url`` (vLLM ``--api-key``); unset: no Authorization header.
    llm_api_key: str | None = None
    #: Model name sent to ``llm_url``; unset: the first model its ``/v1/models`` lists.
    llm_remote_model: str | None = None
    #: Context window in tokens: llama.cpp's ``n_ctx``, or the remote server's window
    #: (vLLM ``--max-model-len``). Prompts are trimmed to fit it with the generation budget.
    llm_context_size: int = 4096
    #: llama.cpp threads; 0: half the CPU cores (at least one), which on a shared
    #: 2-core machine is far faster than two spinning OpenMP threads.
    llm_threads: int = 0
    #: Default generation budget and sampling for an answer.
    llm_max_tokens: int = 256
    llm_temperature: float = 0.7
    llm_top_p: float = 0.95
    #: How chat messages become a prompt for llama.cpp (see ``june.inference.llm.prompting``):
    #: "auto" (the GGUF's chat template when it has one, else "plain"), "plain" (a
    #: User:/Assistant: transcript for base models such as the bundled Gemma 3 270M),
    #: "chatml", "gemma".
    llm_prompt_format: Literal["auto", "plain", "chatml", "gemma"] = "auto"
    #: The remote server accepts OpenAI ``tools``; false: the text protocol of ``prompting``.
    llm_native_tools: bool = True
    #: The model's answer starts inside its reasoning (its template opens ``<think>``), e.g.
    #: Qwen3-*-Thinking-2507 served without a reasoning parser: text up to ``</think>`` is hidden.
    llm_starts_in_thinking: bool = False
    #: Seconds to wait for the remote server (per read; connecting gets at most 10 s).
    llm_request_timeout_s: float = 120.0
    #: llama.cpp's repacked CPU weight buffers (AMX, AVX repack). "auto": off on CPUs with
    #: AMX, where ggml's AMX matmul crashes on this Gemma GGUF (llama-cpp-python 0.3.36).
    llm_cpu_repack: Literal["auto", "on", "off"] = "auto"


class TelegramSettings(BaseModel):
    #: Health and metrics of the bot worker (it has no API port of its own).
    metrics_port: int = 8004
    bot_token: str | None = None


class PostgresSettings(BaseModel):
    """The embedded PostgreSQL, used only when ``JUNE_DATABASE_URL`` is unset."""

    port: int = 54329
    host: str = "127.0.0.1"


class NatsSettings(BaseModel):
    """The embedded nats-server, used only when ``JUNE_NATS_URL`` is unset."""

    port: int = 4222
    host: str = "127.0.0.1"
    monitor_port: int = 8222


class S3Settings(BaseModel):
    """An S3-compatible object store; with ``endpoint`` unset objects are files in the data dir."""

    endpoint: str | None = None
    bucket: str = "june"
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"


class SupervisorSettings(BaseModel):
    #: Seconds to wait for every service to answer its health check.
    start_timeout_s: float = 120.0
    #: First restart delay after a crash; doubles up to ``backoff_max_s``.
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    #: A service that ran this long without crashing gets its backoff reset.
    backoff_reset_after_s: float = 60.0
    #: Seconds a service gets to exit after SIGTERM before it is killed.
    stop_timeout_s: float = 10.0
    #: Services ``june up`` starts.
    services: list[ServiceName] = Field(default_factory=lambda: list(SERVICE_NAMES))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JUNE_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    #: Defaults to ``$JUNE_DATA_DIR/models``.
    model_cache_dir: Path | None = None
    #: A TOML file of extra authorized models, added to the built-in allowlist.
    model_catalog: Path | None = None
    #: Unset: June starts its own PostgreSQL with pgvector under ``$JUNE_DATA_DIR/postgres``.
    database_url: str | None = None
    #: Unset: June starts its own nats-server with JetStream under ``$JUNE_DATA_DIR/nats``.
    nats_url: str | None = None
    #: Unset: tracing is off.
    otlp_endpoint: str | None = None
    log_level: str = "info"
    #: Address every service binds to and that clients use for the local services.
    host: str = "127.0.0.1"

    gateway: GatewaySettings = GatewaySettings()
    inference: InferenceSettings = InferenceSettings()
    stt: SttSettings = SttSettings()
    tts: TtsSettings = TtsSettings()
    telegram: TelegramSettings = TelegramSettings()
    postgres: PostgresSettings = PostgresSettings()
    nats: NatsSettings = NatsSettings()
    s3: S3Settings = S3Settings()
    supervisor: SupervisorSettings = SupervisorSettings()

    # Folders inside the data dir -------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def nats_dir(self) -> Path:
        return self.data_dir / "nats"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def ensure_dirs(self) -> None:
        for path in (self.models_dir, self.objects_dir, self.logs_dir):
            path.mkdir(parents=True, exist_ok=True)

    # Where things are reached ----------------------------------------------------
    def grpc_address(self, service: Literal["inference", "stt", "tts"]) -> str:
        section: GrpcServiceSettings = getattr(self, service)
        return section.address or f"{self.host}:{section.port}"

    def health_url(self, service: ServiceName) -> str:
        """The HTTP health endpoint of a service (gateway: its API port; others: metrics port)."""
        if service == "gateway":
            return f"http://{self.host}:{self.gateway.port}/health"
        port = (
            self.telegram.metrics_port
            if service == "telegram"
            else getattr(self, service).metrics_port
        )
        return f"http://{self.host}:{port}/health"

    @property
    def web_url(self) -> str:
        return self.gateway.public_url or f"http://{self.host}:{self.gateway.port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and ``.env``), with optional overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]
