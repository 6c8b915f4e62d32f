"""JSON logs on stdout, one object per line, with the service name and a request/turn id.

Every line has ``timestamp`` (ISO 8601, UTC), ``level``, ``event``, ``service``
and whatever is bound in :mod:`structlog.contextvars` (``request_id`` above
all). Standard-library loggers (grpc, uvicorn, httpx, ...) go through the same
renderer, so a log collector such as Loki sees one format.

    configure_logging(settings, "stt")
    log = structlog.get_logger()
    with request_context() as request_id:
        log.info("transcribed", audio_s=3.2)
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from june.settings import Settings

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def parse_level(name: str) -> int:
    """``"info"`` → ``logging.INFO``; a clear ``ValueError`` for anything else."""
    try:
        return _LEVELS[name.strip().lower()]
    except KeyError:
        choices = ", ".join(sorted(set(_LEVELS) - {"warn"}))
        raise ValueError(
            f"unknown log level {name!r} (JUNE_LOG_LEVEL): use one of {choices}"
        ) from None


def _add_service(service: str) -> structlog.typing.Processor:
    def add_service(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


#: Libraries whose debug output is noise even when June's is wanted.
_CHATTY = ("asyncio", "grpc._cython.cygrpc", "httpcore", "urllib3")

_FIRST_KEYS = ("timestamp", "level", "service", "event")


def _order_keys(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """``timestamp``, ``level``, ``service``, ``event`` first: easier to read by eye."""
    first = {key: event_dict.pop(key) for key in _FIRST_KEYS if key in event_dict}
    return {**first, **event_dict}


def configure_logging(
    settings: Settings,
    service: str,
    *,
    stream: IO[str] | None = None,
    stream_path: Path | None = None,
) -> None:
    """Send structlog and standard-library logs as JSON lines to stdout.

    ``stream`` or ``stream_path`` (a file, appended to) send them elsewhere, e.g.
    for ``june up``, whose terminal shows a progress display instead.
    """
    level = parse_level(settings.log_level)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
        structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # A plain traceback string: never the frames' locals (they may hold secrets).
            structlog.processors.format_exc_info,
            _order_keys,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler: logging.Handler
    if stream_path is not None:
        stream_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(stream_path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:  # their debug lines drown everything else
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    logging.captureWarnings(True)


def bind_request_id(request_id: str | None = None) -> str:
    """Bind ``request_id`` (a new uuid4 hex when None) to every log line of this context."""
    request_id = request_id or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


@contextmanager
def request_context(request_id: str | None = None, **fields: Any) -> Iterator[str]:
    """Bind a request/turn id (and other fields) for the block, then restore the previous ones."""
    request_id = request_id or uuid.uuid4().hex
    with structlog.contextvars.bound_contextvars(request_id=request_id, **fields):
        yield request_id
