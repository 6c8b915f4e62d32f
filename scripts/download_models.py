#!/usr/bin/env python3
"""Install June's models: the same command as ``june models`` (see ``--help``).

Kept as a script for provisioning steps (a Dockerfile ``RUN``, an Ansible
task) that run before the ``june`` entry point is on the PATH; it builds a
typer app around the very same :func:`june.cli.models.models` function, so
the flags, output and exit codes are identical::

    python scripts/download_models.py --status
    python scripts/download_models.py --model whisper-large-v3
    python scripts/download_models.py --all --verify
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from june.cli.models import build_app
except ImportError:  # run from a checkout without installing June
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from june.cli.models import build_app

if __name__ == "__main__":
    build_app()(prog_name="download_models.py")
