"""The internal gRPC API, compiled from ``proto/*.proto`` at import time.

The ``.proto`` files are the single source of truth; no generated code is
committed or written to disk. ``grpc.protos_and_services`` (grpcio-tools)
compiles them in memory. They are found in the installed wheel
(``june/_proto/``) or, in a source checkout, in ``<repo>/proto/``.

    from june.protos import asr_pb2, asr_pb2_grpc

or ``asr_pb2, asr_pb2_grpc = load("asr")``. The generated modules are named
after the files (``asr_pb2``, ``tts_pb2``, ``llm_pb2`` and ``*_pb2_grpc``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Literal

import grpc

ProtoName = Literal["asr", "tts", "llm"]

#: The gRPC service in each file: ``(file, service)``, full name ``<package>.<service>``.
GRPC_SERVICE_NAMES: dict[ProtoName, str] = {
    "asr": "june.asr.v1.Recognizer",
    "tts": "june.tts.v1.Synthesizer",
    "llm": "june.llm.v1.Inference",
}

_lock = threading.Lock()
_loaded: dict[str, tuple[ModuleType, ModuleType]] = {}


def proto_dir() -> Path:
    """The folder that holds the ``.proto`` files (wheel first, then the source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_proto", here.parents[1] / "proto"):
        if (candidate / "asr.proto").is_file():
            return candidate
    raise RuntimeError(
        f"June's .proto files are missing: looked in {here / '_proto'} and "
        f"{here.parents[1] / 'proto'}; reinstall the june package"
    )


def load(name: ProtoName) -> tuple[ModuleType, ModuleType]:
    """Return ``(messages, services)`` for ``proto/<name>.proto``, compiling it once."""
    with _lock:
        if name not in _loaded:
            folder = str(proto_dir())
            # grpcio-tools resolves the file (and its imports) against sys.path.
            sys.path.insert(0, folder)
            try:
                _loaded[name] = grpc.protos_and_services(f"{name}.proto")
            finally:
                sys.path.remove(folder)
        return _loaded[name]


asr_pb2, asr_pb2_grpc = load("asr")
tts_pb2, tts_pb2_grpc = load("tts")
llm_pb2, llm_pb2_grpc = load("llm")

__all__ = [
    "GRPC_SERVICE_NAMES",
    "asr_pb2",
    "asr_pb2_grpc",
    "llm_pb2",
    "llm_pb2_grpc",
    "load",
    "proto_dir",
    "tts_pb2",
    "tts_pb2_grpc",
]
