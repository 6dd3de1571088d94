#!/usr/bin/env bash
# Installs what Fedward needs on a fresh Debian machine, skipping whatever is already there.
# Used by both README commands. Usage: ensure-deps.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

need_node() {
  if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    echo "Fedward needs Node.js ≥ 20.19 (found: $(node --version 2>/dev/null || echo none))." >&2
    exit 1
  fi
}

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: $* — install them with: sudo apt-get install -y $*" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_node
# better-sqlite3 compiles against Node's headers when no prebuilt binary can be downloaded.
for tool in make g++ python3; do command -v "$tool" >/dev/null || apt_install build-essential python3; done

# Install only when the lockfile changed since the last install (it takes minutes: native build).
# `npm install`, not `npm ci`: turbo lists macOS/Windows binaries as optional dependencies that this
# registry does not serve, so the lockfile cannot hold them and `npm ci` would refuse it; `npm install`
# still follows the lockfile for everything it holds and skips optional packages for other platforms.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  echo "› installing npm packages…"
  npm install --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "› installing Debian's Chromium for the browser tests…"
  apt_install chromium
fi
