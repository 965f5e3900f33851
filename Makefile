# make check  — set up (first time only) and plan the dev stack offline: `make check STACK=prod`
# make test   — set up, then lint, type-check and run every test (what CI runs)
# make docs   — the stack's event catalogue: AsyncAPI 3.0 and EventCatalog pages (`make docs STACK=k8s`)
# make test-fast — lint, type-check and the offline tests in parallel: no real broker
VENV   ?= .venv
PYTHON ?= python3
STACK  ?= dev
BIN    := $(VENV)/bin

.PHONY: setup check docs test test-fast lint schemas catalogue-tools checkov-tools

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

check: setup
	$(BIN)/eventinfra check --stack $(STACK) --diagram event-flow.$(STACK).md

docs: setup
	$(BIN)/eventinfra docs --stack $(STACK) --asyncapi asyncapi.$(STACK).yaml --eventcatalog eventcatalog.$(STACK)

# The pinned npm validators the catalogue tests call (tools/asyncapi/package-lock.json).
catalogue-tools:
	sh tools/asyncapi/install.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# checkov in a virtualenv of its own (its dependencies pin versions of their own).
checkov-tools:
	test -x .venv-checkov/bin/checkov || { $(PYTHON) -m venv .venv-checkov && \
		.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt; }

# Two workers: the build machines have two cores. loadgroup keeps the real-broker tests on one
# worker (their xdist_group, see tests/conftest.py), so one RabbitMQ node starts, not two.
test: lint catalogue-tools checkov-tools
	bash .ci/install-rabbitmq
	bash .ci/install-redis
	$(BIN)/pytest -n 2 --dist loadgroup

test-fast: lint catalogue-tools checkov-tools
	$(BIN)/pytest -n auto --dist loadgroup -m "not broker and not kafka and not packaging"

schemas: setup
	$(BIN)/python -m eventinfra.config.json_schemas
