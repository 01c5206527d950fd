# The two commands of the README. Both create .venv from scratch when it is missing,
# installing exactly the versions in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Until `llmwatch demo` exists: a fresh warehouse, the shipped sample ingested and
# aggregated hour by hour through the cost flow, then the alerts raised.
DEMO_ENV := LLMWATCH_DATA_DIR=.llmwatch/demo LLMWATCH_WAREHOUSE_URL=
demo: $(STAMP)
	rm -rf .llmwatch/demo
	$(DEMO_ENV) $(BIN)/llmwatch init
	-$(DEMO_ENV) $(BIN)/llmwatch ingest -v examples/sample/requests.jsonl examples/sample/otel_traces.json
	-$(DEMO_ENV) $(BIN)/llmwatch ingest -v --signals examples/sample/signals.jsonl.gz
	$(DEMO_ENV) $(BIN)/llmwatch run cost --start 2026-11-02T00:00 --end 2026-11-05T00:00
	$(DEMO_ENV) $(BIN)/llmwatch alerts

test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check llmwatch tasks flows deployments migrations tests bench
	$(BIN)/mypy

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .llmwatch reports
