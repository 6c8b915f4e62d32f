#!/usr/bin/env bash
# Set up June with its test tools (first time only), build the web app, then lint and run
# the whole test suite: the web app's own tests (Vitest), then pytest (which drives the
# built app in Debian's Chromium). Arguments go to pytest (e.g. `scripts/test.sh tests/unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
scripts/build_webapp.sh
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's chromium for the browser tests…"
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    else
        echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2
        exit 1
    fi
fi
(cd webapp && npm test --silent)
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest "$@"
