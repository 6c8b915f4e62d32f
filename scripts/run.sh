#!/usr/bin/env bash
# Set up June (first time only) and run all of it: `june up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/june up "$@"
