#!/usr/bin/env bash
# Prepares a fresh machine for writ's test suite: npm deps, the pinned OPA CLI, Redis, and (for the console
# browser test) Debian's Chromium. Idempotent: everything already present is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
OPA_VERSION="v1.22.2"
TOOLS="$PWD/.tools/bin"
mkdir -p "$TOOLS"

say() { printf '[setup] %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund
fi

if [ -x "$TOOLS/opa" ] && "$TOOLS/opa" version 2>/dev/null | grep -q "Version: ${OPA_VERSION#v}"; then
  :
else
  command -v go >/dev/null || { say "Go is required to install the OPA CLI ${OPA_VERSION}; install Go and re-run"; exit 1; }
  say "installing OPA CLI ${OPA_VERSION} into .tools/bin (go install, takes a few minutes the first time)"
  GOBIN="$TOOLS" go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
fi

apt_install() {
  if [ "$(id -u)" != "0" ]; then say "need root to apt-get install $*; install them and re-run"; exit 1; fi
  if [ ! -f /tmp/.writ-apt-updated ]; then apt-get update -qq && touch /tmp/.writ-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null; then
  say "installing redis-server (Debian)"
  apt_install redis-server || { say "could not install redis-server"; exit 1; }
fi
if ! command -v chromium >/dev/null; then
  say "installing chromium (Debian) for the console browser test"
  apt_install chromium || { say "could not install chromium"; exit 1; }
fi
say "ready: opa $("$TOOLS/opa" version | head -1 | cut -d' ' -f2), $(redis-server --version | cut -d' ' -f3), $(chromium --version 2>/dev/null | head -1)"
