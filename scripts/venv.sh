# Sourced by the other scripts: create .venv with Python 3.11 or 3.12 and install extras into it.
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))'; then
  echo "error: .venv uses $(.venv/bin/python --version); selfie2anime needs Python 3.11 or 3.12 (set PYTHON=python3.11)" >&2
  exit 1
fi
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

install_extras() {
  # torch is pinned to the exact CPU build in pyproject.toml; pip reuses what is installed.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$1]"
}
