# The two commands of the README. Both create .venv from scratch when it is missing,
# installing exactly the versions in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# llama-cpp-python (the real-model canary test) builds from source: without its
# multimodal library (not used: text completions only) the build takes about a minute less.
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# SPEC 6: simulator, several days of traffic with every incident, every flow through
# Prefect, the reports site, and the incidents against the alerts that caught them.
demo: $(STAMP)
	$(BIN)/llmwatch demo

test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check llmwatch tasks flows deployments migrations tests bench
	$(BIN)/mypy

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .llmwatch reports
