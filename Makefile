# Quita — developer commands. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-stamp
HTMX := quita/static/vendor/htmx.min.js

.PHONY: install run test lint unit bench cluster clean

install: $(STAMP) $(HTMX)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

$(HTMX): scripts/fetch_assets.py
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } || \
		{ echo "npm is required to fetch htmx: apt-get install -y npm"; exit 1; }
	$(PY) scripts/fetch_assets.py

run: install
	$(BIN)/quita db upgrade
	$(BIN)/quita demo load
	$(BIN)/quita run

# The production shape from the local PostgreSQL and RabbitMQ: 2 web processes sharing
# :8001 (SO_REUSEPORT), 2 workers, 1 scheduler. DATABASE_URL / BROKER_URL override the local defaults.
cluster: install
	$(BIN)/quita cluster --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# Lint runs beside the tests (its output is printed at the end); the tests that restart
# the shared PostgreSQL or RabbitMQ run alone, after the rest. Fails if either fails.
test: install
	@mkdir -p test-artifacts
	@$(MAKE) --no-print-directory lint > test-artifacts/lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25; suite=$$?; \
	wait $$lint; linted=$$?; echo "--- make lint (ran beside the tests)"; cat test-artifacts/lint.log; \
	echo "lint exit $$linted, suite exit $$suite"; \
	test $$linted -eq 0 -a $$suite -eq 0

unit: install
	$(BIN)/pytest tests/unit -q

# The load benches are driven by wrk (Debian's package), installed here when missing.
bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "wrk is required for the load benches: apt-get install -y wrk"; exit 1; }
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var test-artifacts .mypy_cache .ruff_cache .pytest_cache
