"""``june bench e2e``: end of speech → first answer audio, over the realtime WebSocket.

Register with ``bench_app.command("e2e")(bench_e2e)``. What is measured and
how is in ``june.bench.e2e``; where the run's files go in
``june.bench.artifacts``; the throwaway June in ``june.bench.throwaway``.

June comes from ``--url``: a gateway that answers ``/health`` there is used
(it needs ``--api-key`` or ``JUNE_API_KEY``); otherwise the command starts a
throwaway June for the run (``june up`` in a temporary data dir on free
ports, with a bench user and key of its own) and stops it at the end.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast
from urllib.parse import urlsplit

import typer

from june.cli.common import DEFAULT_DATA, JsonOpt, cli_settings, dataset, fail

if TYPE_CHECKING:
    from rich.console import Console

    from june.bench.e2e import BenchOptions, Mode, TurnRecord, Utterance
    from june.settings import Settings

#: The shared evaluation set when the checkout sits beside it, else the committed fixtures.
SHARED_DATA = Path("../shared/data/speech")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def default_data() -> Path:
    return SHARED_DATA if (SHARED_DATA / "index.jsonl").exists() else DEFAULT_DATA


def bench_e2e(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder with index.jsonl (default: ../shared/data/speech, else fixtures)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Clips to use (0: all).")] = 10,
    turns: Annotated[
        int, typer.Option(min=0, help="Turns in all, repeating the clips (0: one per clip).")
    ] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Sessions at once.")] = 1,
    mode: Annotated[
        str, typer.Option(help="ptt: commit after the clip (hold-to-talk); vad: silence after it.")
    ] = "ptt",
    max_tokens: Annotated[int, typer.Option(min=1, help="Longest answer in tokens.")] = 48,
    memory: Annotated[
        bool, typer.Option("--memory", help="Sample every June process's RSS over the run.")
    ] = False,
    warmup: Annotated[bool, typer.Option(help="One untimed turn first.")] = True,
    url: Annotated[
        str | None, typer.Option(help="The gateway (default: the configured http://HOST:PORT).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="JUNE_API_KEY", help="For a running June."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Whole voice turns at real-time pace: end of speech → first audio, per stage, p95."""
    from rich.console import Console

    from june.bench.e2e import BenchOptions
    from june.client import ClientError, is_up
    from june.client.rest import base_url, local_gateway_url

    if mode not in ("ptt", "vad"):
        raise fail(f"--mode must be ptt or vad, not {mode!r}")
    folder = data or default_data()
    items = dataset(folder, limit)
    settings = cli_settings()
    console = Console(stderr=True)
    target = base_url(url) if url else local_gateway_url(settings.host, settings.gateway.port)
    utterances = _load(items, console)
    options = BenchOptions(
        url=target,
        token=api_key or "",
        mode=cast("Mode", mode),
        concurrency=concurrency,
        turns=turns or len(utterances),
        max_tokens=max_tokens,
    )
    from june.bench.artifacts import run_folder, write_summary

    try:
        run_dir, note = run_folder(folder)
    except OSError as exc:
        raise fail(f"cannot keep the run's files: {exc}", 1) from None
    if note:
        console.print(f"[yellow]note:[/yellow] {note}")
    try:
        if asyncio.run(is_up(target)):
            if not api_key:
                raise fail(
                    f"June runs at {target}: give an API key with --api-key or JUNE_API_KEY "
                    "(make one with `june keys create bench`)",
                    2,
                )
            console.print(f"using the June running at {target}")
            ports = _running_ports(target, settings) if memory else {}
            report = _run(options, utterances, run_dir, ports, warmup, console)
            report["june"] = {"source": "running", "url": target}
        else:
            report = _run_throwaway(options, utterances, run_dir, settings, memory, warmup, console)
    except ClientError as exc:
        raise fail(str(exc), 1) from None
    report["data"] = str(folder)
    report["run_dir"] = str(run_dir.resolve())
    write_summary(run_dir, report)
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report)


def _load(items: list[Any], console: Console) -> list[Utterance]:
    from june.audio import AudioError, decode_file
    from june.bench.e2e import Utterance

    utterances = []
    for item in items:
        try:
            pcm = decode_file(item.audio)
        except (AudioError, OSError) as exc:
            raise fail(f"{item.audio}: {exc}", 1) from None
        utterances.append(Utterance(item.id, item.text, item.part, pcm))
    speech = sum(u.seconds for u in utterances)
    console.print(f"{len(utterances)} clips, {speech:.1f} s of speech")
    return utterances


def _run_throwaway(
    options: BenchOptions,
    utterances: list[Utterance],
    run_dir: Path,
    settings: Settings,
    memory: bool,
    warmup: bool,
    console: Console,
) -> dict[str, Any]:
    from dataclasses import replace

    from june.bench.throwaway import ThrowawayError, ThrowawayJune

    june = ThrowawayJune(settings)
    console.print(
        f"no gateway answers at {options.url}: starting a throwaway June in {june.root} "
        "(stopped and deleted at the end)"
    )
    started = time.perf_counter()
    try:
        with console.status("starting June (PostgreSQL, NATS, stt, tts, inference, gateway)"):
            june.start()
    except ThrowawayError as exc:
        june.stop()
        raise fail(str(exc), 1) from None
    try:
        console.print(f"throwaway June up at {june.url} in {time.perf_counter() - started:.0f} s")
        ports = {**_service_ports(june.ports), "postgres": june.ports["postgres"]}
        ports["nats"] = june.ports["nats"]
        throwaway = replace(options, url=june.url, token=june.api_key)
        report = _run(throwaway, utterances, run_dir, ports if memory else {}, warmup, console)
    finally:
        with console.status("stopping the throwaway June"):
            june.stop(logs_to=run_dir / "june-logs")
    report["june"] = {"source": "throwaway", "url": june.url}
    return report


def _service_ports(ports: dict[str, int]) -> dict[str, int]:
    return {name: ports[name] for name in ("gateway", "stt", "tts", "inference")}


def _running_ports(url: str, settings: Settings) -> dict[str, int]:
    """Where the processes of the June at ``url`` listen, as far as this machine can tell."""
    from sqlalchemy.engine import make_url

    parts = urlsplit(url)
    ports: dict[str, int] = {}
    if parts.hostname in _LOCAL_HOSTS:
        ports["gateway"] = parts.port or (443 if parts.scheme == "https" else 80)
    for name in ("stt", "tts", "inference"):
        ports[name] = getattr(settings, name).port
    if settings.database_url:
        db = make_url(settings.database_url)
        if db.host in _LOCAL_HOSTS and db.port:
            ports["postgres"] = db.port
    else:
        ports["postgres"] = settings.postgres.port
    if settings.nats_url:
        nats = urlsplit(settings.nats_url)
        if nats.hostname in _LOCAL_HOSTS:
            ports["nats"] = nats.port or 4222
    else:
        ports["nats"] = settings.nats.port
    return ports


def _run(
    options: BenchOptions,
    utterances: list[Utterance],
    run_dir: Path,
    ports: dict[str, int],
    warmup: bool,
    console: Console,
) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from june.bench.artifacts import write_turn
    from june.bench.e2e import run_turns, summarize, warm_up
    from june.bench.memory import MemorySampler, listening_pids, sample_points

    sampler: MemorySampler | None = None
    if ports:
        pids = listening_pids(ports)
        missing = sorted(set(ports) - set(pids))
        if missing:
            console.print(f"[yellow]memory:[/yellow] no local process listens for {missing}")
        sampler = MemorySampler(pids)
    points = sample_points(options.turns)
    if warmup:
        with console.status("warm-up turn (untimed)"):
            seconds = asyncio.run(warm_up(options, utterances[0]))
        console.print(f"warm-up turn: {seconds:.1f} s")
    if sampler is not None:
        sampler.sample(0)
    done = 0
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task(f"voice turns ({options.mode})", total=options.turns)

        def on_done(record: TurnRecord) -> None:
            nonlocal done
            done += 1
            write_turn(run_dir, record)
            if sampler is not None and done in points:
                sampler.sample(done)
            first = record.result.first_audio_s if record.result else None
            shown = f"first audio {first:.2f} s" if first is not None else "no audio"
            if record.error:
                shown = f"[red]{record.error['message'][:60]}[/red]"
            progress.update(task, advance=1, description=f"{record.utterance.id}: {shown}")

        records = asyncio.run(run_turns(options, utterances, on_done))
    report = summarize(records, options, time.perf_counter() - started)
    if sampler is not None:
        report["memory"] = sampler.report()
    return report


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def s(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    table = Table(
        title=f"june bench e2e: {report['n']} turns, {report['mode']}, "
        f"concurrency {report['concurrency']} ({report['june']['source']} June)"
    )
    for column in ("measure", "median s", "p95 s"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "[bold]end of speech → first audio (client)",
        f"[bold]{s(report['median_first_audio_s'])}",
        s(report["p95_first_audio_s"]),
    )
    table.add_row(
        "end of speech → turn done (client)", s(report["median_done_s"]), s(report["p95_done_s"])
    )
    for name, value in report["stages"].items():
        table.add_row(f"stage {name}", s(value), s(report["stages_p95"][name]))
    console = Console()
    console.print(table)
    ratio = report["overhead_ratio"]
    console.print(
        f"overhead ratio {ratio if ratio is not None else '—'} (first audio / sum of the stages), "
        f"target median {report['target_first_audio_s']} s; WER {s(report['wer'])}; "
        f"errors {report['errors']}; files in {report['run_dir']}"
    )
    for name, row in report.get("memory", {}).items():
        console.print(
            f"memory {name}: {row['before_mb']:.0f} → {row['after_mb']:.0f} MB "
            f"({row['growth_mb']:+.1f})"
        )
