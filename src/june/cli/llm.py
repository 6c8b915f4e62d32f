"""``june bench llm``: time to first token and tokens/s, service against the backend directly.

Register with ``bench_app.command("llm")(bench_llm)``. The figures and how
they are taken are described in ``june.inference.bench``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from june.cli.common import JsonOpt, cli_settings, fail
from june.inference.bench import DEFAULT_PROMPT


def bench_llm(
    repeats: Annotated[
        int, typer.Option(min=1, help="Timed runs per path (plus one warm-up).")
    ] = 5,
    prompt: Annotated[str, typer.Option(help="The user message of every run.")] = DEFAULT_PROMPT,
    as_json: JsonOpt = False,
    max_tokens: Annotated[int, typer.Option(min=2, help="Answer length cap per run.")] = 64,
    llama_server: Annotated[
        bool,
        typer.Option(help="Also measure llama-cpp-python's own server (HTTP) on the same GGUF."),
    ] = True,
) -> None:
    """Time to first token and tokens/s: inference service versus the LLM backend directly."""
    from june.inference.bench import run_bench
    from june.inference.client import InferenceClient
    from june.inference.llm import LLMError
    from june.inference.local import grpc_stream, inference_address
    from june.models.resolve import ModelNotInstalledError

    settings = cli_settings()

    async def run() -> dict[str, object]:
        async with (
            inference_address(settings) as (address, how),
            InferenceClient(address) as client,
        ):
            return await run_bench(
                settings,
                repeats=repeats,
                prompt=prompt,
                max_tokens=max_tokens,
                service=grpc_stream(client),
                service_label=f"gRPC Chat, {how}",
                llama_server=llama_server,
            )

    try:
        report = asyncio.run(run())
    except (LLMError, ModelNotInstalledError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(_text(report))


def _text(report: dict[str, object]) -> str:
    def row(label: str, ttft: object, rate: object) -> str:
        if ttft is None:
            return f"  {label:<34}: not measured (no service path yet)"
        return f"  {label:<34}: first token {ttft:.3f} s, {rate:.1f} tokens/s"

    lines = [
        f"llm bench, model {report['model']}, {report['repeats']} runs of up to "
        f"{report['max_tokens']} tokens (medians)",
        row("direct (backend in-process)", report["direct_ttft_s"], report["direct_tokens_per_s"]),
        row(f"service ({report['service'] or 'gRPC'})", report["ttft_s"], report["tokens_per_s"]),
    ]
    if report.get("overhead_ratio_ttft") is not None:
        lines.append(f"  service overhead (ttft)           : x{report['overhead_ratio_ttft']:.2f}")
    server = report.get("llama_server")
    if isinstance(server, dict):
        lines.append(
            row("extra: llama.cpp server over HTTP", server["ttft_s"], server["tokens_per_s"])
        )
    return "\n".join(lines)
