"""What can go wrong talking to the gateway, each as its own exception with a sentence to show.

The command line prints ``str(error)`` and exits 1, so every message names
the problem and, where there is one, the way out ("start June with
`june up`", "check the API key").
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every gateway-client failure; ``str()`` is the sentence for the user."""


class GatewayUnavailable(ClientError):
    """Nothing answers at the gateway's address (refused, timed out, not June)."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"the gateway is unavailable at {url}; start June with `june up`")


class Unauthorized(ClientError):
    """The gateway refused the credentials: a bad, expired or revoked token, or a bad login."""


class SessionRefused(ClientError):
    """The realtime socket was closed before a session began (the ``error`` event says why)."""

    def __init__(self, message: str, *, code: str = "", stage: str = "", close_code: int = 0):
        self.code = code
        self.stage = stage
        self.close_code = close_code
        super().__init__(message)


class ConversationNotFound(SessionRefused):
    """``conversation_id`` names no conversation of this user (close code 4404)."""


class SessionClosed(ClientError):
    """The socket closed in the middle of a turn."""

    def __init__(self, close_code: int | None, reason: str = "") -> None:
        self.close_code = close_code
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"the gateway closed the session with code {close_code}{why}")


class StageFailed(ClientError):
    """An ``error`` event: a stage (stt, llm, tts, session) failed; the session stays open."""

    def __init__(self, stage: str, code: str, message: str, turn_id: str = "") -> None:
        self.stage = stage
        self.code = code
        self.message = message
        self.turn_id = turn_id
        super().__init__(f"{stage} failed ({code}): {message}")


class TurnTimeout(ClientError):
    """A turn did not complete in time (nothing heard, or a stage that never answered)."""
