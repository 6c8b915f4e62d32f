"""Built-in tools: date and time, a calculator, search my documents, remember a fact about me."""

from __future__ import annotations

import ast
import math
import operator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from june.inference.llm.base import ToolSpec
from june.inference.tools.registry import Tool, ToolContext, ToolError


async def current_datetime(arguments: dict[str, Any], context: ToolContext) -> str:
    name = str(arguments.get("timezone") or context.timezone or "UTC")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris") from None
    now = datetime.now(zone)
    return f"{now:%A %d %B %Y, %H:%M} ({name}); ISO {now.isoformat(timespec='seconds')}"


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def evaluate(expression: str) -> float:
    """Arithmetic only, parsed with ``ast`` — never ``eval``: no names, no attributes, no calls
    beyond a few math functions, and no exponent so large it would hang the service."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 1000:
                raise ToolError("exponent too large")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            return _FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise ToolError(f"not arithmetic: {ast.unparse(node)!r}")

    text = expression.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/").strip()
    if not text or len(text) > 500:
        raise ToolError("give an arithmetic expression of at most 500 characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolError(f"cannot read {expression!r} as arithmetic") from None
    try:
        return walk(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (OverflowError, ValueError) as exc:
        raise ToolError(str(exc)) from None


async def calculator(arguments: dict[str, Any], context: ToolContext) -> str:
    value = evaluate(str(arguments.get("expression", "")))
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:.10g}" if isinstance(value, float) else str(value)


async def search_documents(arguments: dict[str, Any], context: ToolContext) -> str:
    if context.search is None:
        raise ToolError("document search is not available here")
    query = str(arguments.get("query", "")).strip()
    if not query:
        raise ToolError("give a query")
    k = max(1, min(int(arguments.get("k", 3) or 3), 8))
    hits = await context.search(query, k)
    if not hits:
        return "no matching passages in the user's documents"
    return "\n\n".join(f"[{name}] (score {score:.2f})\n{text}" for name, score, text in hits)


async def remember_fact(arguments: dict[str, Any], context: ToolContext) -> str:
    if context.remember is None:
        raise ToolError("memory is not available here")
    fact = str(arguments.get("fact", "")).strip()
    if not fact or len(fact) > 500:
        raise ToolError("give the fact to remember in at most 500 characters")
    await context.remember(fact)
    return f"remembered: {fact}"


def builtin_tools() -> list[Tool]:
    def spec(
        name: str, description: str, properties: dict[str, Any], required: list[str]
    ) -> ToolSpec:
        schema = {"type": "object", "properties": properties, "required": required}
        return ToolSpec(name, description, schema)

    return [
        Tool(
            spec(
                "current_datetime",
                "The current date and time.",
                {"timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Paris"}},
                [],
            ),
            current_datetime,
        ),
        Tool(
            spec(
                "calculator",
                "Evaluate an arithmetic expression exactly.",
                {"expression": {"type": "string", "description": "e.g. (12.5 * 3) / 4"}},
                ["expression"],
            ),
            calculator,
        ),
        Tool(
            spec(
                "search_documents",
                "Search the user's own documents for passages.",
                {"query": {"type": "string"}, "k": {"type": "integer", "minimum": 1, "maximum": 8}},
                ["query"],
            ),
            search_documents,
        ),
        Tool(
            spec(
                "remember_fact",
                "Remember a fact about the user for later conversations.",
                {"fact": {"type": "string", "description": "e.g. 'is vegetarian'"}},
                ["fact"],
            ),
            remember_fact,
        ),
    ]
