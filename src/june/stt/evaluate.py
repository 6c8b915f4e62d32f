"""Word and character error rates of June's speech-to-text on a folder of real recordings.

The folder holds ``index.jsonl``: one ``{"id", "audio", "text", …}`` per line,
``audio`` relative to the folder; an item's ``subset`` (or else ``corpus``)
names the part it is scored in, because one overall figure hides a regression
on the hard part (LibriSpeech test-other is several times harder than
test-clean).

Text is normalised with Whisper's own English normaliser (OpenAI's
``EnglishTextNormalizer``, from the ``whisper-normalizer`` package: lower case,
punctuation removed, spelled-out and written numbers unified, British/American
spellings and contractions standardised) before jiwer computes WER and CER —
the way Whisper's published WERs are computed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import jiwer


@dataclass(frozen=True)
class EvalItem:
    id: str
    audio: Path
    text: str
    part: str


@dataclass
class ItemResult:
    id: str
    part: str
    reference: str
    hypothesis: str
    wer: float
    audio_s: float
    processing_s: float


def load_dataset(data_dir: Path, limit: int | None = None) -> list[EvalItem]:
    index = data_dir / "index.jsonl"
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: --data must be a folder with index.jsonl")
    items = []
    for n, line in enumerate(index.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                EvalItem(
                    id=str(row["id"]),
                    audio=data_dir / row["audio"],
                    text=str(row["text"]),
                    part=str(row.get("subset") or row.get("corpus") or "all"),
                )
            )
        except (KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{index}:{n}: not an item with id, audio and text ({exc})") from exc
    return items[:limit] if limit else items


@cache
def _normalizer():  # type: ignore[no-untyped-def]
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    return " ".join(_normalizer()(text).split())


def _wer(ref: str, hyp: str) -> float:
    """WER of normalised texts; an empty reference scores 1 for any word heard, else 0."""
    return float(jiwer.wer(ref, hyp)) if ref else float(bool(hyp))


def utterance_wer(reference: str, hypothesis: str) -> float:
    """WER of one utterance, both texts normalised as for ``june eval stt``."""
    return _wer(normalize(reference), normalize(hypothesis))


def item_result(item: EvalItem, hypothesis: str, audio_s: float, processing_s: float) -> ItemResult:
    ref, hyp = normalize(item.text), normalize(hypothesis)
    return ItemResult(item.id, item.part, ref, hyp, _wer(ref, hyp), audio_s, processing_s)


def _rates(results: list[ItemResult]) -> dict[str, float]:
    refs = [r.reference for r in results]
    hyps = [r.hypothesis for r in results]
    return {"wer": jiwer.wer(refs, hyps), "cer": jiwer.cer(refs, hyps)}


def summarize(results: list[ItemResult], wall_s: float, worst: int = 5) -> dict[str, object]:
    """The report ``june eval stt --json`` prints (rates are fractions, 0.05 = 5 %)."""
    audio_s = sum(r.audio_s for r in results)
    processing_s = sum(r.processing_s for r in results)
    by_part: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        by_part[r.part].append(r)
    parts = {
        name: {"n": len(rs), **_rates(rs), "audio_s": sum(r.audio_s for r in rs)}
        for name, rs in sorted(by_part.items())
    }
    ranked = sorted(results, key=lambda r: r.wer, reverse=True)[:worst]
    return {
        "n": len(results),
        **(_rates(results) if results else {"wer": 0.0, "cer": 0.0}),
        "rtf": processing_s / audio_s if audio_s else 0.0,
        "audio_s": audio_s,
        "wall_s": wall_s,
        "parts": parts,
        "worst": [asdict(r) for r in ranked if r.wer > 0],
    }
