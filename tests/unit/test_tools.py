"""The tool registry and the built-in tools: right answers, and failures reported, never raised."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from june.inference.llm.base import ToolCallRequest, ToolSpec
from june.inference.tools import Tool, ToolContext, ToolRegistry, builtin_tools

CONTEXT = ToolContext(user_id=uuid.uuid4(), user_name="ada", timezone="Europe/Paris")


def call(name: str, **arguments: Any) -> ToolCallRequest:
    return ToolCallRequest(id="call-1", name=name, arguments_json=json.dumps(arguments))


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(builtin_tools())


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 2", "4"),
        ("(12.5 * 3) / 4", "9.375"),
        ("2 ^ 10", "1024"),
        ("-3 ** 2", "-9"),
        ("sqrt(16) + abs(-2)", "6"),
        ("17 % 5", "2"),
        ("1 / 3", "0.3333333333"),
        ("round(2 * pi, 2)", "6.28"),
    ],
)
async def test_calculator(registry: ToolRegistry, expression: str, expected: str) -> None:
    outcome = await registry.call(call("calculator", expression=expression), CONTEXT)
    assert not outcome.is_error, outcome.content
    assert outcome.content == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('true')", "not arithmetic"),
        ("open('/etc/passwd').read()", "not arithmetic"),
        ("2 ** 100000", "exponent too large"),
        ("1 / 0", "division by zero"),
        ("two plus two", "cannot read"),
        ("", "at most 500"),
    ],
)
async def test_calculator_refuses_anything_but_arithmetic(
    registry: ToolRegistry, expression: str, reason: str
) -> None:
    outcome = await registry.call(call("calculator", expression=expression), CONTEXT)
    assert outcome.is_error and reason in outcome.content


async def test_current_datetime_in_the_users_zone(registry: ToolRegistry) -> None:
    outcome = await registry.call(call("current_datetime"), CONTEXT)
    assert not outcome.is_error and "Europe/Paris" in outcome.content
    iso = outcome.content.split("ISO ")[1]
    assert abs((datetime.fromisoformat(iso) - datetime.now().astimezone()).total_seconds()) < 120
    bad = await registry.call(call("current_datetime", timezone="Mars/Olympus"), CONTEXT)
    assert bad.is_error and "unknown time zone" in bad.content


async def test_search_and_remember_use_what_the_turn_provides(registry: ToolRegistry) -> None:
    remembered: list[str] = []

    async def search(query: str, k: int) -> list[tuple[str, float, str]]:
        return [("lease.md", 0.82, f"rent is due on the 1st ({query}, k={k})")]

    async def remember(fact: str) -> None:
        remembered.append(fact)

    context = ToolContext(uuid.uuid4(), "ada", search=search, remember=remember)
    found = await registry.call(call("search_documents", query="rent", k=2), context)
    assert "[lease.md]" in found.content and "k=2" in found.content
    stored = await registry.call(call("remember_fact", fact="is vegetarian"), context)
    assert remembered == ["is vegetarian"] and not stored.is_error
    unavailable = await registry.call(call("search_documents", query="rent"), CONTEXT)
    assert unavailable.is_error and "not available" in unavailable.content


async def test_failures_become_messages_for_the_model() -> None:
    async def broken(arguments: dict[str, Any], context: ToolContext) -> str:
        raise RuntimeError("disk on fire")

    async def slow(arguments: dict[str, Any], context: ToolContext) -> str:
        await asyncio.sleep(5)
        return "late"

    registry = ToolRegistry(
        [Tool(ToolSpec("broken", "fails"), broken), Tool(ToolSpec("slow", "hangs"), slow)],
        timeout_s=0.2,
    )
    cases = {
        "broken": ("broken failed: RuntimeError: disk on fire", call("broken")),
        "slow": ("did not answer", call("slow")),
        "unknown": ("there is no tool 'weather'", call("weather")),
        "bad json": ("not valid JSON", ToolCallRequest("c", "broken", "{oops")),
        "not an object": ("must be a JSON object", ToolCallRequest("c", "broken", "[1]")),
    }
    for expected, request in cases.values():
        outcome = await registry.call(request, CONTEXT)
        assert outcome.is_error and expected in outcome.content, outcome.content
        assert outcome.call is request and outcome.duration_s >= 0


def test_builtin_tools_describe_themselves() -> None:
    specs = {tool.spec.name: tool.spec for tool in builtin_tools()}
    assert set(specs) == {"current_datetime", "calculator", "search_documents", "remember_fact"}
    for spec in specs.values():
        assert spec.description and spec.parameters["type"] == "object"
