"""``june say``, ``june voices``, ``june bench tts`` and ``june eval tts``.

Each goes through the tts service when it runs (``june up``) and otherwise
starts the same service in-process for the duration of the command.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from june.cli.common import DEFAULT_DATA, DataOpt, JsonOpt, cli_settings, dataset, fail
from june.cli.groups import bench_app, eval_app
from june.cli.stt import print_eval

FORMAT_NAMES = {
    "wav": "WAV",
    "pcm": "PCM_S16LE",
    "ogg": "OGG_OPUS",
    "opus": "OGG_OPUS",
    "mp3": "MP3",
}


def _format_for(name: str, out: Path) -> str:
    key = (name or out.suffix.lstrip(".") or "wav").lower()
    if key not in FORMAT_NAMES:
        raise fail(f"unknown format {key!r}: use one of wav, pcm, ogg, mp3")
    return FORMAT_NAMES[key]


def say(
    text: Annotated[str, typer.Argument(help="What to say ('-' reads standard input).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Audio file to write.")],
    voice: Annotated[str, typer.Option(help="Voice id (see `june voices`).")] = "",
    fmt: Annotated[
        str, typer.Option("--format", help="wav, pcm, ogg, mp3 (default: from --out).")
    ] = "",
    speed: Annotated[float, typer.Option(help="Speaking rate: 1.0 normal, 1.25 faster.")] = 1.0,
) -> None:
    """Speak TEXT into an audio file."""
    import sys

    import grpc

    from june.protos import tts_pb2
    from june.tts.client import TtsClient
    from june.tts.local import tts_address

    if text == "-":
        text = sys.stdin.read()
    if speed <= 0:
        raise fail("--speed must be above 0")
    settings = cli_settings()
    config = tts_pb2.SynthesisConfig(
        voice=voice,
        format=tts_pb2.AudioFormat.Value(f"AUDIO_FORMAT_{_format_for(fmt, out)}"),
        length_scale=1.0 / speed if speed != 1.0 else 0.0,
    )

    async def run() -> Any:
        async with tts_address(settings) as (address, _), TtsClient(address) as client:
            return await client.synthesize(text, config)

    try:
        result = asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        raise fail(str(exc.details())) from None
    out.write_bytes(result.audio)
    summary = result.summary
    typer.echo(
        f"{out}: {summary.audio_s:.2f} s of audio, {summary.sentences} sentence(s), "
        f"{result.sample_rate_hz} Hz, voice {summary.voice}",
        err=True,
    )


def voices(
    language: Annotated[str, typer.Option(help="Only voices for this language (e.g. en).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """The voices June may speak with (every authorized Piper voice), installed or not."""
    from june.tts.voices import VoiceCatalog

    settings = cli_settings()
    entries = VoiceCatalog(settings).voices(language)
    if as_json:
        rows = [
            {**e.__dict__, "speakers": list(e.speakers), "default": e.id == settings.tts.voice}
            for e in entries
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "language", "rate", "quality", "speakers", "installed", "default")
    for e in entries:
        table.add_row(
            e.id,
            e.language,
            str(e.sample_rate or ""),
            e.quality,
            str(len(e.speakers) or 1),
            "yes" if e.installed else "no",
            "yes" if e.id == settings.tts.voice else "",
        )
    Console().print(table)


@bench_app.command("tts")
def bench_tts(
    repeats: Annotated[int, typer.Option(help="Runs per text and path.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Time to first audio chunk and real-time factor: tts service versus Piper directly."""
    from june.tts import bench
    from june.tts.local import tts_address
    from june.tts.server import load_engine

    settings = cli_settings()

    async def through_service() -> tuple[dict[str, dict[str, float]], str]:
        async with tts_address(settings) as (address, how):
            await bench.service(address, "Warm up.", 1)
            return {
                k: await bench.service(address, t, repeats) for k, t in bench.TEXTS.items()
            }, how

    served, how = asyncio.run(through_service())
    voice = load_engine(settings).voice()
    bench.direct(voice, "Warm up.", 1)
    direct = {k: bench.direct(voice, t, repeats) for k, t in bench.TEXTS.items()}
    report: dict[str, Any] = {"voice": settings.tts.voice, "service": how, "texts": {}}
    for key in bench.TEXTS:
        s, d = served[key], direct[key]
        report["texts"][key] = {
            "service": s,
            "direct": d,
            "overhead_ratio_ttfc": s["ttfc_s"] / d["ttfc_s"],
            "overhead_ratio_rtf": s["rtf"] / d["rtf"],
        }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"tts bench, voice {report['voice']}, service {how}, median of {repeats}")
    for key, row in report["texts"].items():
        s, d = row["service"], row["direct"]
        typer.echo(
            f"  {key:15s} first chunk: service {s['ttfc_s']:.3f} s, piper {d['ttfc_s']:.3f} s "
            f"(x{row['overhead_ratio_ttfc']:.2f}); RTF: service {s['rtf']:.3f}, "
            f"piper {d['rtf']:.3f} (x{row['overhead_ratio_rtf']:.2f})"
        )


@eval_app.command("tts")
def eval_tts(
    data: DataOpt = DEFAULT_DATA,
    limit: Annotated[int, typer.Option(help="Only the first N items (0: all).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Intelligibility: speak each reference sentence, transcribe it back, report the WER."""
    from june.audio import decode_audio
    from june.protos import tts_pb2
    from june.stt.client import SttClient
    from june.stt.evaluate import item_result, summarize
    from june.stt.local import stt_address
    from june.tts.client import TtsClient
    from june.tts.local import tts_address

    items = dataset(data, limit)
    settings = cli_settings()
    wav = tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_WAV)

    async def run() -> dict[str, Any]:
        results = []
        started = time.perf_counter()
        async with (
            tts_address(settings) as (tts_at, _),
            stt_address(settings) as (stt_at, _),
            TtsClient(tts_at) as tts,
            SttClient(stt_at) as stt,
        ):
            for item in items:
                text = item.text.capitalize() if item.text.isupper() else item.text
                spoken = await tts.synthesize(text, wav)
                heard = await stt.recognize(spoken.audio)
                audio_s = len(decode_audio(spoken.audio)) / 16_000
                assert spoken.summary is not None
                results.append(
                    item_result(item, heard.transcript.text, audio_s, spoken.summary.processing_s)
                )
        return summarize(results, time.perf_counter() - started)

    report = asyncio.run(run())
    report["voice"], report["stt_model"] = settings.tts.voice, settings.stt.model
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    report["mode"] = f"round trip: {report['voice']} heard by"
    report["model"] = report["stt_model"]
    print_eval(report)
