# The two quickstart commands:  `make run`  (pipeline on the embedded data)  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint env clean-env

# Create the virtual environment from the pinned lock file (re-done when the lock changes).
$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

env: $(STAMP)

# Run the whole pipeline on the embedded default data and print the metrics table.
run: $(STAMP)
	$(VENV)/bin/dvc repro
	$(VENV)/bin/mlpipe metrics

# Lint, then the whole test suite (what CI runs).
test: $(STAMP)
	$(VENV)/bin/ruff check src tests $(wildcard benchmarks)
	$(VENV)/bin/ruff format --check src tests $(wildcard benchmarks)
	$(VENV)/bin/pytest

clean-env:
	rm -rf $(VENV)
