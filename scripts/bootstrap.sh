#!/usr/bin/env bash
# Set up (or update) June's virtual environment in .venv. Safe to run again:
# it reinstalls only when pyproject.toml or proto/ changed since the last successful run.
# Usage: scripts/bootstrap.sh [extra]   e.g. `scripts/bootstrap.sh test`
set -euo pipefail
cd "$(dirname "$0")/.."

extra="${1:-}"
venv=.venv
stamp="$venv/.june-installed${extra:+-$extra}"

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    echo "June needs Python 3.11 or newer (python3 --version says: $(python3 --version 2>&1))." >&2
    echo "On Debian/Ubuntu: sudo apt-get install python3 python3-venv" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing python3-venv with apt-get…"
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            "$python" -m venv "$venv"
        else
            echo "Python's venv module is missing. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
fi

# pyproject.toml (dependencies) and proto/ (copied into the installed package) decide.
if [ ! -f "$stamp" ] || [ -n "$(find pyproject.toml proto -newer "$stamp" -print -quit)" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    target="."
    [ -n "$extra" ] && target=".[$extra]"
    "$venv/bin/python" -m pip install --quiet -e "$target"
    touch "$stamp"
fi
