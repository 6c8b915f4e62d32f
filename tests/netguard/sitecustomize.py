"""Outbound-network guard for June's start-up test, loaded by every Python child via PYTHONPATH.

Only loopback and unix sockets may be used. Any other connect or name lookup
is refused before a packet leaves, and recorded in ``$JUNE_NET_GUARD_LOG`` so
the test can show that June started without touching the network. Each
process also records that the guard was loaded into it (``PID loaded ARGV``),
so a guard that never loaded cannot pass for one that refused nothing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_LOG = os.environ.get("JUNE_NET_GUARD_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return isinstance(host, bytes) or host is None  # unix socket paths
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, target: object) -> None:
    if _LOG:
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {what} {target!r}\n")
    raise OSError(101, f"network guard: outbound {what} to {target!r} refused")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):  # type: ignore[index]
        _refuse("connect", address)
    return _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):  # type: ignore[index]
        _refuse("connect", address)
    return _connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not is_loopback(name):
        _refuse("lookup", name)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo
socket.JUNE_NET_GUARD = True  # type: ignore[attr-defined]


def _command_line() -> str:
    """This process's command line (``sys.argv`` is not set yet while ``site`` runs)."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return " ".join(a.decode(errors="replace") for a in f.read().split(b"\0") if a)
    except OSError:
        return " ".join(getattr(sys, "orig_argv", []))


if _LOG:
    with open(_LOG, "a") as _log:
        _log.write(f"{os.getpid()} loaded {_command_line()}\n")
