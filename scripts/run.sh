#!/usr/bin/env bash
# Set up June (first time only), build its web app when its sources changed, and run all
# of it: `june up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build_webapp.sh
exec .venv/bin/june up "$@"
