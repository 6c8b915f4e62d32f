"""Start-up problems a person must fix: ``june serve`` prints them and exits with code 2."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

#: Exit code of ``june serve`` for a configuration problem (missing model, port taken):
#: restarting cannot help, so the supervisor does not.
EXIT_CONFIG_ERROR = 2


class StartupError(Exception):
    """A problem that stops a service from starting; ``str()`` is the message for the user."""


@dataclass(frozen=True)
class PortSpec:
    """A port a service listens on, with what it is for and the setting that moves it."""

    host: str
    port: int
    #: e.g. "stt gRPC", "stt metrics", "gateway HTTP".
    what: str
    #: e.g. "JUNE_STT_PORT".
    env_var: str


class PortInUseError(StartupError):
    def __init__(self, spec: PortSpec) -> None:
        self.spec = spec
        super().__init__(
            f"port {spec.port} ({spec.what}) is already in use; is another June running? "
            f"Set {spec.env_var} to use another"
        )


def bind_socket(spec: PortSpec) -> socket.socket:
    """A listening TCP socket on ``spec``, or :class:`PortInUseError` when the port is taken."""
    family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((spec.host, spec.port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(spec) from exc
        raise StartupError(
            f"cannot listen on {spec.host}:{spec.port} ({spec.what}): {exc}"
        ) from exc
    return sock


def check_port_free(spec: PortSpec) -> None:
    """Raise :class:`PortInUseError` if ``spec`` cannot be bound right now."""
    bind_socket(spec).close()
