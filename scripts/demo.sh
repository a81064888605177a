#!/usr/bin/env bash
# Set up a virtual environment (once) and run one photo through the whole pipeline on this machine.
# Usage: scripts/demo.sh [PHOTO] [--email ADDRESS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_extras local
exec .venv/bin/selfie2anime demo "$@"
