"""June's service processes for tests: ``python -m june serve NAME`` on free ports.

Started, waited for (``/health``), scraped (``/metrics``) and stopped the way
the supervisor does it; shared by every test that runs a real service.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from june.infra.ports import free_ports
from june.settings import Settings

GRPC_SERVICES = {"stt": "asr", "tts": "tts", "inference": "llm"}
START_TIMEOUT_S = 60.0  # the first inference start assembles the bundled GGUF into the cache
STOP_TIMEOUT_S = 8.0
HANG_TIMEOUT_S = 60.0  # only for a process that hangs: a timeout is never the thing tested


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ports:
    grpc: int | None
    http: int  # /health and /metrics: the metrics port, or the gateway's own port


def service_env(tmp_path: Path, model_cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    ports = iter(free_ports(2 + 2 * len(GRPC_SERVICES)))
    env.update(
        {
            "JUNE_DATA_DIR": str(tmp_path / "data"),
            "JUNE_MODEL_CACHE_DIR": str(model_cache),
            "JUNE_HOST": "127.0.0.1",
            "JUNE_GATEWAY_PORT": str(next(ports)),
            "JUNE_TELEGRAM_METRICS_PORT": str(next(ports)),
        }
    )
    for name in GRPC_SERVICES:
        env[f"JUNE_{name.upper()}_PORT"] = str(next(ports))
        env[f"JUNE_{name.upper()}_METRICS_PORT"] = str(next(ports))
    env.update(extra)
    return env


def gateway_token(data_dir: Path) -> str:
    """An access token signed with the key the gateway keeps in its data dir."""
    from june.gateway.auth.tokens import issue, signing_key

    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    token, _ = issue(signing_key(settings), "access", str(uuid.uuid4()), "ops", False, 60)
    return token


def ports_of(name: str, env: dict[str, str]) -> Ports:
    if name == "gateway":
        return Ports(None, int(env["JUNE_GATEWAY_PORT"]))
    if name == "telegram":
        return Ports(None, int(env["JUNE_TELEGRAM_METRICS_PORT"]))
    key = f"JUNE_{name.upper()}"
    return Ports(int(env[f"{key}_PORT"]), int(env[f"{key}_METRICS_PORT"]))


@dataclass
class Running:
    name: str
    proc: subprocess.Popen[bytes]
    ports: Ports
    stdout: Path
    stderr: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    def log_lines(self) -> list[str]:
        return [line for line in self.stdout.read_text().splitlines() if line.strip()]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STOP_TIMEOUT_S)


def launch(name: str, env: dict[str, str], tmp_path: Path) -> Running:
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "june", "serve", name],
            env=env,
            cwd=tmp_path,  # no developer .env is read
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    return Running(name, proc, ports_of(name, env), stdout, stderr)


def wait_healthy(running: Running) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            pytest.fail(
                f"{running.name} exited with {running.proc.returncode}:\n"
                f"{running.stderr.read_text()}\n{running.stdout.read_text()}"
            )
        try:
            response = httpx.get(f"{running.base_url}/health", timeout=1.0)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{running.name} not healthy after {START_TIMEOUT_S}s")


class Metrics:
    """One scrape of a service's ``/metrics``, parsed: the value of each sample."""

    def __init__(self, base_url: str, **headers: str) -> None:
        from prometheus_client.parser import text_string_to_metric_families

        response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for one not exported yet (a counter before its first count)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def run_to_exit(name: str, env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "june", "serve", name],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stderr
