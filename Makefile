# make check  — set up (first time only) and plan the dev stack offline: `make check STACK=prod`
# make test   — set up, then lint, type-check and run every test (what CI runs)
# make test-fast — lint, type-check and the offline tests in parallel: no real broker
VENV   ?= .venv
PYTHON ?= python3
STACK  ?= dev
BIN    := $(VENV)/bin

.PHONY: setup check test test-fast lint schemas

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

check: setup
	$(BIN)/eventinfra check --stack $(STACK) --diagram event-flow.$(STACK).md

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two workers: the build machines have two cores. loadgroup keeps the real-broker tests on one
# worker (their xdist_group, see tests/conftest.py), so one RabbitMQ node starts, not two.
test: lint
	bash .ci/install-rabbitmq
	$(BIN)/pytest -n 2 --dist loadgroup

test-fast: lint
	$(BIN)/pytest -n auto --dist loadgroup -m "not broker"

schemas: setup
	$(BIN)/python -m eventinfra.config.json_schemas
