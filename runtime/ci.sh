#!/usr/bin/env bash
# CI for eventinfra-runtime: its own venv, lint, types, and every test (moto, real RabbitMQ + Redis).
#
# Installs only Debian packages it needs (redis-server; rabbitmq-server through the repo's
# .ci/install-rabbitmq); starts no system service: the tests run their own servers on loopback
# and stop them by PID. Usage: runtime/ci.sh   (VENV=path to reuse a venv elsewhere)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
if ! command -v redis-server >/dev/null 2>&1; then
    "${SUDO[@]}" apt-get update
    # Debian's postinst may start the system service where policy-rc.d allows it: stop it again.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
        "${SUDO[@]}" systemctl stop redis-server || true
        "${SUDO[@]}" systemctl disable redis-server || true
    fi
fi
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
