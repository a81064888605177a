#!/usr/bin/env bash
# Set up everything the tests need (Python extras, the pinned CDK CLI, Chromium) and run them.
# Extra arguments go to pytest, e.g. scripts/test.sh -k api
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_extras test,convert
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x /usr/bin/chromium ]; then
  # The browser tests drive Debian's Chromium; Playwright must not download a browser of its own.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec .venv/bin/python -m pytest "$@"
