"""Waiting for a child task without swallowing the waiter's own cancellation.

``with suppress(CancelledError): await child`` reads as "wait for the child,
which may have been cancelled", but it also swallows a cancellation of the
*waiter*: a voice turn cancelled while it waited for its speech synthesis
went on and reported itself done. ``asyncio.wait`` keeps the two apart: it
neither raises the child's outcome nor absorbs the waiter's cancellation, so
these helpers are what every task that waits for another uses.
"""

from __future__ import annotations

import asyncio

import structlog

log = structlog.get_logger(__name__)


async def join(task: asyncio.Future[object], timeout: float | None = None) -> bool:
    """Wait until ``task`` has ended, whatever its outcome; True if it has.

    The task's own cancellation or error is not raised here (an error is
    logged, so it is never lost); the waiter's cancellation is, and cancels
    the task too, so no child outlives the one waiting for it.
    """
    if not task.done():
        try:
            await asyncio.wait([task], timeout=timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
    if not task.done():
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("task.failed", task=_name(task), error=repr(error))
    return True


async def stop(task: asyncio.Future[object] | None) -> None:
    """Cancel ``task`` and wait until it has ended (see :func:`join`)."""
    if task is None:
        return
    task.cancel()
    await join(task)


def _name(task: asyncio.Future[object]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)


__all__ = ["join", "stop"]
