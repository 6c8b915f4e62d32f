"""``june transcribe``, ``june eval stt`` and ``june bench stt``.

Each goes through the stt service when it runs (``june up``) and otherwise
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

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def transcribe(
    file: FileArg,
    as_json: JsonOpt = False,
    word_timestamps: Annotated[bool, typer.Option(help="Word-level timestamps.")] = False,
    language: Annotated[str, typer.Option(help="ISO 639-1 code; empty: detect.")] = "",
) -> None:
    """Transcribe an audio file (any format) and print the text."""
    import grpc
    from google.protobuf.json_format import MessageToDict

    from june.protos import asr_pb2
    from june.stt.client import SttClient
    from june.stt.local import stt_address

    settings = cli_settings()
    config = asr_pb2.RecognitionConfig(word_timestamps=word_timestamps, language=language)

    async def run() -> tuple[Any, str]:
        async with stt_address(settings) as (address, how), SttClient(address) as client:
            return await client.recognize(file.read_bytes(), config), how

    try:
        response, how = asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        raise fail(f"{file.name}: {exc.details()}") from None
    if as_json:
        body = MessageToDict(response, preserving_proto_field_name=True)
        body["via"] = how
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        typer.echo(response.transcript.text)


@eval_app.command("stt")
def eval_stt(
    data: DataOpt = DEFAULT_DATA,
    limit: Annotated[int, typer.Option(help="Only the first N items (0: all).")] = 0,
    stream: Annotated[
        bool, typer.Option("--stream", help="Feed RecognizeStream in 100 ms chunks.")
    ] = False,
    pace: Annotated[
        float, typer.Option(help="--stream speed: 1 = real time, 4 = four times faster, 0 = max.")
    ] = 1.0,
    worst: Annotated[int, typer.Option(help="How many worst utterances to list.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """WER and CER (Whisper normaliser + jiwer), real-time factor, per part and overall."""
    from rich.console import Console
    from rich.progress import Progress

    from june.audio import decode_file
    from june.stt.client import SttClient
    from june.stt.evaluate import item_result, summarize
    from june.stt.local import stt_address

    items = dataset(data, limit)
    settings = cli_settings()
    console = Console(stderr=True)

    async def run() -> dict[str, object]:
        results = []
        started = time.perf_counter()
        async with stt_address(settings) as (address, _), SttClient(address) as client:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("transcribing", total=len(items))
                for item in items:
                    if stream:
                        pcm = decode_file(item.audio)
                        res = await client.stream_pcm(pcm, realtime=1 / pace if pace else 0)
                        assert res.done is not None
                        hyp, timing = res.text, res.done.timing
                    else:
                        resp = await client.recognize(item.audio.read_bytes())
                        hyp, timing = resp.transcript.text, resp.timing
                    results.append(item_result(item, hyp, timing.audio_s, timing.processing_s))
                    progress.advance(task)
        return summarize(results, time.perf_counter() - started, worst)

    report = asyncio.run(run())
    report["mode"] = "stream" if stream else "batch"
    report["model"] = settings.stt.model
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    print_eval(report)


def print_eval(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"june eval stt ({report['mode']}, {report['model']})")
    for column in ("part", "n", "WER %", "CER %", "audio s"):
        table.add_column(column, justify="right" if column != "part" else "left")
    for name, part in report["parts"].items():
        table.add_row(
            name,
            str(part["n"]),
            f"{part['wer'] * 100:.2f}",
            f"{part['cer'] * 100:.2f}",
            f"{part['audio_s']:.1f}",
        )
    table.add_row(
        "[bold]all",
        str(report["n"]),
        f"[bold]{report['wer'] * 100:.2f}",
        f"{report['cer'] * 100:.2f}",
        f"{report['audio_s']:.1f}",
    )
    console = Console()
    console.print(table)
    console.print(f"real-time factor {report['rtf']:.3f}, wall {report['wall_s']:.1f} s")
    for row in report["worst"]:
        console.print(
            f"[red]{row['wer'] * 100:5.1f}%[/red] {row['id']}: "
            f"ref: {row['reference']!r}\n        hyp: {row['hypothesis']!r}"
        )


@bench_app.command("stt")
def bench_stt(
    data: DataOpt = DEFAULT_DATA,
    limit: Annotated[int, typer.Option(help="Utterances to use.")] = 6,
    repeats: Annotated[int, typer.Option(help="Runs per utterance (unary and direct).")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Real-time factor and latency: stt service (unary, stream) versus faster-whisper directly."""
    from june.stt import bench
    from june.stt.local import stt_address

    items = dataset(data, limit)
    settings = cli_settings()
    files, audio = bench.load(items)
    durations = [len(a) / bench.SAMPLE_RATE for a in audio]

    async def run() -> tuple[bench.Measure, dict[str, list[float]], str]:
        async with stt_address(settings) as (address, how):
            await bench.unary(address, files[:1], durations[:1], 1)  # warm-up
            unary = await bench.unary(address, files, durations, repeats)
            streamed = await bench.stream(address, audio)
            return unary, streamed, how

    unary, streamed, how = asyncio.run(run())
    direct = bench.direct(settings, audio[:1], 1)  # warm-up
    direct = bench.direct(settings, audio, repeats)
    d, u = direct.summary(), unary.summary()
    s = {key: bench.median(values) for key, values in streamed.items()}
    s["speculative_p95_s"] = bench.p95(streamed["speculative_s"])
    s["final_p95_s"] = bench.p95(streamed["final_s"])
    #: Streams whose utterance got a speculative final; negative ``speculative_s``: it came
    #: before the clip's own trailing silence had been sent.
    s["speculative_share"] = round(len(streamed["speculative_s"]) / max(1, len(audio)), 3)
    report = {
        "model": settings.stt.model,
        "n": len(items),
        "audio_s": sum(durations),
        "service": how,
        "endpoint_silence_ms": settings.stt.endpoint_silence_ms,
        "direct": d,
        "service_unary": u,
        "service_stream": s,
        "overhead_ratio_rtf": u["rtf"] / d["rtf"] if d["rtf"] else None,
        "overhead_ratio_latency": u["latency_s"] / d["latency_s"] if d["latency_s"] else None,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"stt bench, {report['n']} utterances ({report['audio_s']:.1f} s), model "
        f"{report['model']}, service {how}\n"
        f"  direct faster-whisper : RTF {d['rtf']:.3f}  latency {d['latency_s']:.3f} s\n"
        f"  service Recognize     : RTF {u['rtf']:.3f}  latency {u['latency_s']:.3f} s "
        f"(x{report['overhead_ratio_latency']:.2f})\n"
        f"  service stream (1x)   : end of speech -> speculative final "
        f"{s['speculative_s']:.3f} s (p95 {s['speculative_p95_s']:.3f}), -> final "
        f"{s['final_s']:.3f} s (p95 {s['final_p95_s']:.3f}); first partial after "
        f"{s['first_partial_s']:.2f} s of speech"
    )
