"""What can go wrong with a document, each error carrying a code a service maps to a status.

``DocumentError`` is the user's input (gRPC INVALID_ARGUMENT, or
RESOURCE_EXHAUSTED for ``too_large``); ``DocumentNotFoundError`` is NOT_FOUND;
``DatabaseUnavailableError`` is UNAVAILABLE. ``str(exc)`` is always a complete
sentence for the user, naming the file or the server.
"""

from __future__ import annotations

from typing import Literal

DocumentErrorCode = Literal["unsupported", "corrupt", "empty", "too_large", "invalid"]


class DocumentError(ValueError):
    """A document June cannot read: an unsupported type, damaged, empty or too large."""

    def __init__(self, code: DocumentErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: DocumentErrorCode = code


class DocumentNotFoundError(LookupError):
    """A document id that the user does not have (another user's ids look the same)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        listed = ", ".join(ids)
        super().__init__(f"no such document: {listed}; `june docs list` shows yours")


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL cannot be reached; the message says where and how to start it."""
