#!/usr/bin/env bash
# CI for eventinfra-runtime: its own venv, lint, types, and every test (moto, real RabbitMQ + Redis).
#
# Installs only Debian packages it needs (redis-server and rabbitmq-server, through the repo's
# .ci/install-redis and .ci/install-rabbitmq); starts no system service: the tests run their own servers on loopback
# and stop them by PID. Usage: runtime/ci.sh   (VENV=path to reuse a venv elsewhere)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"

bash ../.ci/install-redis
bash ../.ci/install-rabbitmq

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
"$VENV/bin/python" -m pip install --quiet -r requirements-test.txt -e ".[aws,rabbitmq,kafka]"

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/pytest" -s "$@"
