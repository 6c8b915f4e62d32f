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
    """One port that is free right now (see :func:`free_ports`)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free ports for servers started next (tests, throwaway servers).

    They are drawn below Linux's ephemeral range (32768+), so an outgoing
    connection cannot take one between this check and the server's bind, and
    every socket is held until all are chosen, so none is handed out twice.
    """
    import random

    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((host, random.randint(20_000, 32_000)))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def require_free_port(host: str, port: int, what: str, env_var: str, alternative: str = "") -> None:
    """Raise :class:`InfraError` naming the port, what needed it and the setting that moves it."""
    from june.infra import InfraError

    if not port_is_free(host, port):
        hint = f"; or {alternative}" if alternative else ""
        raise InfraError(
            f"port {port} ({what}) on {host} is already in use by another program; "
            f"set {env_var} to a free port{hint}"
        )
