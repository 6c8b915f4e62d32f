"""Resident memory of June's processes over a benchmark, to show a leak as growth that goes on.

Processes are found by the TCP port they listen on (the gateway's, each
gRPC service's, PostgreSQL's and NATS's), so the same code follows a June
that ``june up`` runs, one started by hand, or the test stack. A process's
figure is its RSS plus its children's (PostgreSQL serves each connection
from a child; its shared buffers are counted once per process that touched
them, so read PostgreSQL's *growth*, not its level).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import psutil

MB = 1024 * 1024


def listening_pids(ports: dict[str, int]) -> dict[str, int]:
    """``{name: pid}`` of the local processes listening on each named port (absent: not found)."""
    wanted = {port: name for name, port in ports.items() if port}
    found: dict[str, int] = {}
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # not allowed to see other processes' sockets
        return found
    for conn in connections:
        if conn.status != psutil.CONN_LISTEN or conn.pid is None or not conn.laddr:
            continue
        name = wanted.get(conn.laddr.port)
        if name is not None:
            found.setdefault(name, conn.pid)
    return found


def rss_mb(pid: int) -> float | None:
    """RSS of ``pid`` and its descendants in MB; None once the process is gone."""
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += child.memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return total / MB


@dataclass
class MemorySampler:
    """Samples every process's memory at chosen points (``turns`` done so far)."""

    pids: dict[str, int]
    samples: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def sample(self, turns: int) -> None:
        for name, pid in self.pids.items():
            mb = rss_mb(pid)
            if mb is not None:
                self.samples.setdefault(name, []).append({"turns": turns, "rss_mb": round(mb, 1)})

    def report(self) -> dict[str, dict[str, Any]]:
        """``{process: {before_mb, after_mb, growth_mb, samples}}``."""
        report = {}
        for name, rows in self.samples.items():
            before, after = rows[0]["rss_mb"], rows[-1]["rss_mb"]
            report[name] = {
                "pid": self.pids[name],
                "before_mb": before,
                "after_mb": after,
                "growth_mb": round(after - before, 1),
                "samples": rows,
            }
        return report


def sample_points(turns: int) -> set[int]:
    """Turn counts after which to sample: every 10 % of the run, and its end."""
    step = max(1, -(-turns // 10))
    return {*range(step, turns + 1, step), turns}
