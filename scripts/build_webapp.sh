#!/usr/bin/env bash
# Build the web app (webapp/ → webapp/dist, which the gateway serves at /). Safe to run
# again: `npm ci` only when package.json or package-lock.json changed, `vite build` only
# when a source changed since the last build.
set -euo pipefail
cd "$(dirname "$0")/../webapp"

node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                 process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}
if ! node_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Node.js with apt-get…"
        apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null 2>&1 ||
            apt-get install -y -qq nodejs >/dev/null
    fi
    if ! node_ok; then
        echo "June's web app needs Node.js 20.19 or newer with npm" \
            "(node --version says: $(node --version 2>&1 || echo 'no node'))." >&2
        echo "On Debian/Ubuntu: install nodejs 20+ (e.g. from NodeSource), then run this again." >&2
        exit 1
    fi
fi

installed=node_modules/.june-installed
if [ ! -f "$installed" ] || [ package.json -nt "$installed" ] || [ package-lock.json -nt "$installed" ]; then
    echo "installing the web app's packages (npm ci)…"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$installed"
fi

built=dist/.june-built
sources=(src index.html package.json package-lock.json vite.config.ts tsconfig.json)
[ -d public ] && sources+=(public)
if [ ! -f "$built" ] || [ -n "$(find "${sources[@]}" -newer "$built" -print -quit)" ]; then
    echo "building the web app (vite build)…"
    npm run --silent build
    touch "$built"
fi
