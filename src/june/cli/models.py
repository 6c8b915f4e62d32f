"""``june models``: list, check, install and verify the authorized models.

This command is the only place June reaches the network for models
(``--model ID`` / ``--all``); everything else runs offline. Exit codes: 0 all
well, 1 an install or a verification failed, 2 a usage error (an id that is
not on the allowlist, a broken extra catalog).

With ``--json`` one JSON object goes to stdout, with a key per requested
action: ``models`` (``--list`` / ``--status`` rows), ``installed`` and
``verify``; human messages and progress bars go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from tqdm.std import tqdm as std_tqdm

from june.models.catalog import (
    AssembledSource,
    Catalog,
    CatalogError,
    HubSource,
    ModelSpec,
    UnknownModelError,
    load_catalog,
)
from june.models.download import InstallError, install_model
from june.models.status import FileCheck, check_model, verify_model
from june.settings import Settings, load_settings


class _NullWriter:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class RichProgress:
    """Byte progress bars on stderr, for hashing, assembly and Hugging Face downloads."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        )

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        task_id = self.progress.add_task(escape(label), total=total)

        def advance(count: int) -> None:
            self.progress.advance(task_id, count)

        yield advance

    def download_tqdm(self, label: str) -> type[std_tqdm]:
        """A tqdm class that huggingface_hub drives and that draws on this rich Progress."""
        progress = self.progress

        class RichTqdm(std_tqdm):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["file"] = _NullWriter()
                kwargs["disable"] = False
                super().__init__(*args, **kwargs)
                self._rich_task = progress.add_task(
                    escape(f"downloading {label}"), total=self.total
                )

            def update(self, n: float | None = 1) -> bool | None:
                shown = super().update(n)
                task = getattr(self, "_rich_task", None)
                if task is not None:
                    progress.update(task, completed=self.n, total=self.total)
                return shown

        return RichTqdm


def _selected(settings: Settings) -> set[str]:
    """The model ids the current settings use."""
    return {
        settings.stt.model,
        settings.stt.vad_model,
        settings.tts.voice,
        settings.inference.llm_model,
        settings.inference.embedding_model,
    }


def _row(spec: ModelSpec, settings: Settings, with_status: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": spec.id,
        "role": spec.role,
        "source": spec.source.describe(),
        "default": spec.default,
        "in_use": spec.id in _selected(settings),
        "size": spec.total_size,
        "pinned": spec.pinned,
        "description": spec.description,
    }
    if isinstance(spec.source, HubSource):
        row["repo"] = spec.source.repo_id
        row["revision"] = spec.source.revision
    if with_status:
        status = check_model(settings, spec)
        row.update(state=str(status.state), path=str(status.path or ""), detail=status.detail)
    return row


def _short_path(path: str) -> str:
    """Paths inside the environment or the model cache are long; show what tells them apart."""
    marker = "site-packages/"
    if marker in path:
        return "<site-packages>/" + path.split(marker, 1)[1]
    return path


def _table(rows: list[dict[str, Any]], with_status: bool) -> Table:
    table = Table(title="June models" + (" — status" if with_status else ""))
    table.add_column("id", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("default", no_wrap=True, max_width=7)
    table.add_column("in use", no_wrap=True, max_width=6)
    if with_status:
        table.add_column("state", no_wrap=True)
        table.add_column("path", overflow="fold", min_width=30)
    else:
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("source")
        table.add_column("description")
    colour = {"present": "green", "missing": "yellow", "corrupt": "red"}
    for row in rows:
        cells = [
            escape(row["id"]),
            row["role"],
            "yes" if row["default"] else "",
            "yes" if row["in_use"] else "",
        ]
        if with_status:
            state = row["state"]
            detail = f" ({escape(row['detail'])})" if state != "present" else ""
            cells += [f"[{colour[state]}]{state}[/]", escape(_short_path(row["path"])) + detail]
        else:
            size = row["size"]
            cells += [
                f"{size / 1e6:,.0f} MB" if size else "?",
                escape(row["source"]),
                escape(row["description"]),
            ]
        table.add_row(*cells)
    return table


def _install_targets(
    catalog: Catalog, ids: list[str], everything: bool, say: Console
) -> list[ModelSpec]:
    if not everything:
        return [catalog.get(model_id) for model_id in ids]
    targets: list[ModelSpec] = []
    for spec in catalog:
        downloadable = isinstance(spec.source, HubSource | AssembledSource)
        if downloadable and spec.pinned:
            targets.append(spec)
        elif downloadable:
            say.print(
                f"[yellow]skipping {escape(spec.id)}: no pinned SHA-256; add it to the catalog[/]"
            )
    targets += [catalog.get(i) for i in ids if i not in {t.id for t in targets}]
    return targets


def _install(
    settings: Settings, specs: list[ModelSpec], out: Console, err: Console
) -> tuple[list[dict[str, Any]], bool]:
    results: list[dict[str, Any]] = []
    with RichProgress(err) as progress:
        for spec in specs:
            try:
                path = install_model(settings, spec, progress)
            except InstallError as exc:
                results.append({"id": spec.id, "ok": False, "error": str(exc)})
            else:
                results.append({"id": spec.id, "ok": True, "path": str(path)})
    for result in results:
        if result["ok"]:
            out.print(f"[green]installed[/] {escape(result['id'])} → {escape(result['path'])}")
        else:
            err.print(f"[red]error:[/] {escape(result['error'])}")
    return results, not all(result["ok"] for result in results)


def _verify(
    settings: Settings, catalog: Catalog, out: Console, err: Console
) -> tuple[list[FileCheck], bool]:
    checks: list[FileCheck] = []
    with RichProgress(err) as progress:
        for spec in catalog:
            checks += verify_model(settings, spec, progress)
    bad = [c for c in checks if c.expected is not None and not c.ok]
    for c in checks:
        if c.expected is None:
            out.print(
                f"[yellow]unpinned[/] {escape(c.model_id)}/{escape(c.name)}: no SHA-256 to check"
            )
    for c in bad:
        err.print(
            f"[red]mismatch[/] {escape(c.model_id)}/{escape(c.name)} ({escape(str(c.path))}): "
            f"expected SHA-256 {c.expected}, got {c.actual}"
        )
    if not bad:
        out.print(f"[green]verified {len(checks)} files: all match their pinned SHA-256[/]")
    return checks, bool(bad)


def models(
    list_: Annotated[bool, typer.Option("--list", help="Show the authorized models.")] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Show which models are present, missing or corrupt.")
    ] = False,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", metavar="ID", help="Download / install this model (repeatable)."),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Install every authorized model that can be downloaded.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Re-hash every present model file; fail on a mismatch.")
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Machine-readable output on stdout.")
    ] = False,
) -> None:
    """List, check, install and verify the models June is allowed to use.

    Only --model and --all reach the network; with no option, shows --status.
    """
    # soft_wrap: messages hold paths and commands that must stay copyable on one line.
    out = Console(stderr=json_, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = load_settings()
        catalog = load_catalog(settings.model_catalog)
        install_ids = list(model or [])
        for model_id in install_ids:
            catalog.get(model_id)
    except (UnknownModelError, CatalogError, ValidationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not (list_ or status or install_ids or all_ or verify):
        status = True

    document: dict[str, Any] = {}
    failed = False
    if install_ids or all_:
        targets = _install_targets(catalog, install_ids, all_, err)
        document["installed"], failed = _install(settings, targets, out, err)
    if list_ or status:
        rows = [_row(spec, settings, with_status=status) for spec in catalog]
        document["models"] = rows
        if not json_:
            out.print(_table(rows, with_status=status))
            for model_id in sorted(_selected(settings) - {spec.id for spec in catalog}):
                err.print(
                    f"[yellow]warning:[/] settings select '{escape(model_id)}', "
                    "which is not on the allowlist"
                )
    if verify:
        checks, mismatch = _verify(settings, catalog, out, err)
        failed = failed or mismatch
        document["verify"] = {
            "ok": not mismatch,
            "files": [
                {
                    "model": c.model_id,
                    "file": c.name,
                    "path": str(c.path),
                    "expected": c.expected,
                    "actual": c.actual,
                    "ok": c.ok,
                }
                for c in checks
            ],
        }
    if json_:
        typer.echo(json.dumps(document, indent=2))
    if failed:
        raise typer.Exit(1)


def build_app() -> typer.Typer:
    """A one-command app running :func:`models`, for ``scripts/download_models.py``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command(name="models")(models)
    return app


__all__ = ["RichProgress", "build_app", "models"]
