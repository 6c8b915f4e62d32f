"""Function calling: the tool registry and June's built-in tools."""

from june.inference.tools.builtin import builtin_tools
from june.inference.tools.registry import Tool, ToolContext, ToolError, ToolOutcome, ToolRegistry

__all__ = ["Tool", "ToolContext", "ToolError", "ToolOutcome", "ToolRegistry", "builtin_tools"]
