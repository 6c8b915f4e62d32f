"""Port checks done before starting a server, so a taken port gives a clear message."""

from __future__ import annotations

import socket


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we could bind it ourselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (for tests and throwaway servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def require_free_port(host: str, port: int, what: str, env_var: str, alternative: str = "") -> None:
    """Raise :class:`InfraError` naming the port, what needed it and the setting that moves it."""
    from june.infra import InfraError

    if not port_is_free(host, port):
        hint = f"; or {alternative}" if alternative else ""
        raise InfraError(
            f"port {port} ({what}) on {host} is already in use by another program; "
            f"set {env_var} to a free port{hint}"
        )
