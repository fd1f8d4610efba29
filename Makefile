# ChainMatch developer commands. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo serve test test-fast lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in pyproject (CPU build); everything else from the registry.
	$(BIN)/pip install --quiet -e ".[dev,postgres]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)  ## load the sample cluster, print two explained lists per weak link, serve on :8000
	$(BIN)/chainmatch demo

serve: $(STAMP)
	$(BIN)/chainmatch serve

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck  ## everything CI runs: lint, types, all tests (slow too) on SQLite and PostgreSQL
	env -u CHAINMATCH_TEST_POSTGRES_URL $(BIN)/python -m pytest -m "slow or not slow"
	@if [ -n "$$CHAINMATCH_TEST_POSTGRES_URL" ]; then \
		echo "== the same suite against PostgreSQL =="; \
		$(BIN)/python -m pytest -m "slow or not slow"; \
	else echo "CHAINMATCH_TEST_POSTGRES_URL not set: PostgreSQL run skipped"; fi

test-fast: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.latency_http

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
