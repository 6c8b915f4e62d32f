"""The internal gRPC API: June compiles its .proto files at import time, from the source
checkout or from the copies an installed June ships, and serves every RPC they declare."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from june import protos
from june.inference.service import InferenceServicer
from june.protos import asr_pb2, asr_pb2_grpc, llm_pb2, tts_pb2
from june.stt.service import RecognizerServicer
from june.tts.service import SynthesizerServicer

REPO = Path(__file__).resolve().parents[2]
#: June's implementation of each file's service.
SERVICERS = {"asr": RecognizerServicer, "tts": SynthesizerServicer, "llm": InferenceServicer}


def _methods(pb2: object, service: str) -> dict[str, tuple[bool, bool]]:
    """``{method: (client_streaming, server_streaming)}`` of a service, from its descriptor."""
    descriptor = pb2.DESCRIPTOR.services_by_name[service]  # type: ignore[attr-defined]
    return {m.name: (m.client_streaming, m.server_streaming) for m in descriptor.methods}


def test_services_have_the_designed_methods() -> None:
    assert _methods(asr_pb2, "Recognizer") == {
        "Recognize": (False, False),
        "RecognizeStream": (True, True),
    }
    assert _methods(tts_pb2, "Synthesizer") == {
        "Synthesize": (False, True),
        "SynthesizeStream": (True, True),
        "ListVoices": (False, False),
    }
    assert _methods(llm_pb2, "Inference") == {
        "Chat": (False, True),
        "Embed": (False, False),
        "IngestDocument": (True, True),
        "SearchDocuments": (False, False),
        "ListDocuments": (False, False),
        "RemoveDocuments": (False, False),
    }
    for pb2, key in ((asr_pb2, "asr"), (tts_pb2, "tts"), (llm_pb2, "llm")):
        (service,) = pb2.DESCRIPTOR.services_by_name.values()
        assert service.full_name == protos.GRPC_SERVICE_NAMES[key]  # type: ignore[index]


@pytest.mark.parametrize("key", list(SERVICERS))
def test_june_implements_every_rpc_its_protos_declare(key: str) -> None:
    """A method June's servicer does not define would answer every caller UNIMPLEMENTED."""
    pb2, pb2_grpc = protos.load(key)  # type: ignore[arg-type]
    (service,) = pb2.DESCRIPTOR.services_by_name.values()
    generated = getattr(pb2_grpc, f"{service.name}Servicer")
    servicer = SERVICERS[key]
    assert issubclass(servicer, generated)
    missing = [
        m.name
        for m in service.methods
        if getattr(servicer, m.name) is getattr(generated, m.name)  # the generated stand-in
    ]
    assert missing == [], f"{servicer.__name__} does not implement {missing}"


def test_load_is_cached_and_writes_nothing() -> None:
    assert protos.load("asr") == (asr_pb2, asr_pb2_grpc)
    assert protos.proto_dir() == REPO / "proto" or protos.proto_dir().name == "_proto"
    generated = [p for p in (REPO / "proto").rglob("*") if p.suffix != ".proto"]
    generated += list((REPO / "src").rglob("*_pb2*.py"))
    assert generated == []


def _packaged_protos() -> dict[str, Path]:
    """The ``.proto`` files the installed June distribution ships, by name."""
    files = importlib.metadata.files("june") or []
    return {f.name: Path(str(f.locate())) for f in files if f.parts[:2] == ("june", "_proto")}


def test_the_installed_package_ships_the_protos_of_the_source() -> None:
    packaged = _packaged_protos()
    sources = {p.name: p for p in (REPO / "proto").glob("*.proto")}
    assert sorted(packaged) == sorted(sources) == ["asr.proto", "llm.proto", "tts.proto"]
    stale = [n for n, p in sources.items() if packaged[n].read_bytes() != p.read_bytes()]
    assert stale == [], f"the installed june/_proto differs from proto/ ({stale}): reinstall June"


def test_an_installed_june_compiles_its_services_from_the_packaged_copies(
    tmp_path: Path,
) -> None:
    """``june/_proto/`` beside ``june/protos.py``, as a wheel installs it, with no proto/
    folder anywhere near: the services compile from there, the same as from the source."""
    package = tmp_path / "site-packages" / "june"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(REPO / "src" / "june" / "protos.py", package / "protos.py")
    (package / "_proto").mkdir()
    for name, path in _packaged_protos().items():
        shutil.copy(path, package / "_proto" / name)
    script = (
        "import json; from june import protos\n"
        "services = {k: [m.name for m in protos.load(k)[0].DESCRIPTOR.services_by_name"
        "[v.rsplit('.', 1)[1]].methods] for k, v in protos.GRPC_SERVICE_NAMES.items()}\n"
        "print(json.dumps({'dir': str(protos.proto_dir()), 'services': services}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(package.parent), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dir"] == str(package / "_proto")
    assert result["services"] == {
        key: [m.name for m in protos.load(key)[0].DESCRIPTOR.services_by_name[name].methods]
        for key, name in (("asr", "Recognizer"), ("tts", "Synthesizer"), ("llm", "Inference"))
    }


def test_proto_dir_prefers_the_wheel_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a wheel the files are ``june/_proto/*.proto`` beside ``june/protos.py``."""
    package = tmp_path / "site-packages" / "june"
    shutil.copytree(REPO / "proto", package / "_proto")
    monkeypatch.setattr(protos, "__file__", str(package / "protos.py"))
    assert protos.proto_dir() == package / "_proto"

    monkeypatch.setattr(protos, "__file__", str(tmp_path / "elsewhere" / "june" / "protos.py"))
    with pytest.raises(RuntimeError, match=r"\.proto files are missing"):
        protos.proto_dir()
