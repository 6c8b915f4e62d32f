"""Tools the model may call: a small registry, and the rule that a failing tool never fails a turn.

A tool is a :class:`ToolSpec` (name, description, JSON-schema parameters, as
the model sees it) and an async ``run(arguments, context) -> str``. Adding one
is writing that function and listing it in :func:`june.inference.tools.builtin.builtin_tools`
(or passing your own list to :class:`ToolRegistry`). Whatever goes wrong —
unknown tool, arguments that are not a JSON object, an exception, a timeout —
comes back as a :class:`ToolOutcome` with ``is_error`` set and a message the
model can read and recover from; it is never raised to the user.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from june.inference.llm.base import ToolCallRequest, ToolSpec

#: Seconds a tool may run before the model is told it timed out.
TOOL_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ToolContext:
    """Who the turn is for, and the services a tool may use (injected, so tools stay testable)."""

    user_id: uuid.UUID
    user_name: str
    timezone: str = "UTC"
    #: ``search(query, k) -> [(document name, score, text), …]`` over this user's documents.
    search: Callable[[str, int], Awaitable[list[tuple[str, float, str]]]] | None = None
    #: ``remember(fact) -> None`` stores a fact about this user for later turns.
    remember: Callable[[str], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: ToolFunction


@dataclass(frozen=True)
class ToolOutcome:
    call: ToolCallRequest
    content: str
    is_error: bool
    duration_s: float


class ToolError(Exception):
    """Raised by a tool for a problem the model should hear about (bad input, nothing found)."""


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool], timeout_s: float = TOOL_TIMEOUT_S) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}
        self.timeout_s = timeout_s

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    async def call(self, request: ToolCallRequest, context: ToolContext) -> ToolOutcome:
        started = time.perf_counter()

        def outcome(content: str, is_error: bool) -> ToolOutcome:
            return ToolOutcome(request, content, is_error, time.perf_counter() - started)

        tool = self._tools.get(request.name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            return outcome(f"error: there is no tool {request.name!r} (tools: {known})", True)
        try:
            arguments = json.loads(request.arguments_json or "{}")
        except json.JSONDecodeError as exc:
            return outcome(f"error: the arguments are not valid JSON ({exc.msg})", True)
        if not isinstance(arguments, dict):
            return outcome("error: the arguments must be a JSON object", True)
        try:
            result = await asyncio.wait_for(tool.run(arguments, context), self.timeout_s)
        except TimeoutError:
            return outcome(f"error: {request.name} did not answer in {self.timeout_s:.0f} s", True)
        except ToolError as exc:
            return outcome(f"error: {exc}", True)
        except Exception as exc:  # a broken tool is reported to the model, never raised
            return outcome(f"error: {request.name} failed: {type(exc).__name__}: {exc}", True)
        return outcome(result, False)
