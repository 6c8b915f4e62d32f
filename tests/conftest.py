"""Shared fixtures: real embedded PostgreSQL and NATS on free ports, in throwaway data dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from june.infra.nats import EmbeddedNats
from june.infra.ports import free_ports
from june.infra.postgres import EmbeddedPostgres
from june.settings import Settings

#: The whole of June as processes, for the gateway tests (fixture ``june_stack``);
#: ``june up`` in a data dir of its own (fixture ``june_env``); the suite rule that a
#: skipped, xfailed or xpassed test fails the run; and ``pytester``, with which
#: the unit tests check that rule.
pytest_plugins = ["tests.stack", "tests.june_up", "tests.suite_rules", "pytester"]

# Tests never read a developer's .env or real data dir.
for _name in list(os.environ):
    if _name.startswith("JUNE_"):
        del os.environ[_name]


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for an isolated June: its own data dir and free ports for everything."""
    p = iter(free_ports(12))
    fields: dict[str, object] = {
        "data_dir": data_dir,
        "postgres": {"port": next(p)},
        "nats": {"port": next(p), "monitor_port": next(p)},
        "gateway": {"port": next(p)},
        "inference": {"port": next(p), "metrics_port": next(p)},
        "stt": {"port": next(p), "metrics_port": next(p)},
        "tts": {"port": next(p), "metrics_port": next(p)},
        "telegram": {"metrics_port": next(p)},
    }
    fields.update(overrides)
    return Settings(_env_file=None, **fields)  # type: ignore[arg-type,call-arg]


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``JUNE_*`` variables that make a child process build the same settings."""
    env = {
        "JUNE_DATA_DIR": str(settings.data_dir),
        "JUNE_POSTGRES_PORT": str(settings.postgres.port),
        "JUNE_NATS_PORT": str(settings.nats.port),
        "JUNE_NATS_MONITOR_PORT": str(settings.nats.monitor_port),
        "JUNE_GATEWAY_PORT": str(settings.gateway.port),
        "JUNE_TELEGRAM_METRICS_PORT": str(settings.telegram.metrics_port),
    }
    for name in ("inference", "stt", "tts"):
        section = getattr(settings, name)
        env[f"JUNE_{name.upper()}_PORT"] = str(section.port)
        env[f"JUNE_{name.upper()}_METRICS_PORT"] = str(section.metrics_port)
    return env


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole run, so the bundled GGUF is assembled at most once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def infra_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("june-infra"))


@pytest.fixture(scope="session")
def postgres(infra_settings: Settings) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(infra_settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_server(infra_settings: Settings) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(infra_settings)
    server.start()
    yield server
    server.stop()


#: The layers of the suite, one folder each: how much of June a test starts.
LAYERS = ("unit", "service", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its layer (``pytest -m unit``), and keep every test in one."""
    root = Path(__file__).parent
    for item in items:
        layer = item.path.relative_to(root).parts[0] if item.path.is_relative_to(root) else ""
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: a test belongs in tests/unit, service or e2e")
        item.add_marker(layer)
