#!/usr/bin/env bash
# checkov over a stack's planned manifests (`--stack k8s`, the default, or `--stack kafka`), in its own virtualenv (its dependencies are
# heavy and pin versions of their own): installs the pinned checkov on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
CHECKOV_VENV="${CHECKOV_VENV:-.venv-checkov}"
if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet -r requirements-checkov.txt
fi
PYTHONPATH="$PWD/components:$PWD:$PWD/policies${PYTHONPATH:+:$PYTHONPATH}" \
  "$PYTHON" -m tools.checkov.run_checkov --checkov "$CHECKOV_VENV/bin/checkov" "$@"
