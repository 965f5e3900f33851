#!/bin/sh
# Installs the pinned upstream validators (package-lock.json) the catalogue tests call.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
