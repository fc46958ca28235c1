# The two quickstart commands:  `make run`  (pipeline on the embedded data)  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Python caches compiled modules (and pytest its rewritten test modules) in __pycache__; some
# shells set PYTHONDONTWRITEBYTECODE, and then every process compiles them again: each of the
# test suite's workers spent ~6 s of its ~14 s collection on that (benchmarks/test-suite.md).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast test-repeat lint env clean-env docs docs-serve

# Create the virtual environment from the pinned lock file (re-done when the lock changes).
$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

env: $(STAMP)

# Run the whole pipeline on the embedded default data and print the metrics table.
run: $(STAMP)
	$(VENV)/bin/dvc repro
	$(VENV)/bin/mlpipe metrics

# pytest-xdist workers for `make test`: one more than the CPUs. The pipeline tests wait part of
# the time (DVC's queue polls and grace periods, a template another worker is building), and
# the extra worker uses those gaps: 13 min instead of 17.5 on 2 CPUs (benchmarks/test-suite.md).
# (nproc without OMP_NUM_THREADS, which it would obey.) TEST_WORKERS=0 runs the suite in one process. `make test-fast` (in-process unit tests, no
# waiting) takes one worker per CPU. worksteal: a worker that runs out of tests takes queued
# ones from another (the pipeline tests last seconds to minutes each).
TEST_WORKERS ?= $(shell echo $$(( $$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) + 1 )))
XDIST := -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests docs $(wildcard benchmarks)
	$(VENV)/bin/ruff format --check src tests docs $(wildcard benchmarks)

# Lint, then the whole test suite on every core (what CI runs).
test: lint
	$(VENV)/bin/pytest $(XDIST)

# The edit loop: lint and the unit tests that run in pytest's process (no git, no dvc, no
# processes that import scikit-learn: the 10 unit tests marked slow are left to `make test`).
test-fast: lint
	$(VENV)/bin/pytest tests/unit -m "not slow" -n auto --dist worksteal

# The proof that the suite does not flake: the tests marked `timing` (they wait on another
# process, a signal, DVC's queue or a server) run REPEAT times each (pytest-repeat), on the
# same workers as `make test`. `make test-repeat REPEAT=20` is what benchmarks/test-suite.md
# records; it takes about an hour on 2 cores (the queue tests mostly wait).
REPEAT ?= 20
test-repeat: $(STAMP)
	$(VENV)/bin/pytest -m timing --count $(REPEAT) $(XDIST)

# The documentation site (mkdocs.yml, pages in docs/): regenerate the reference pages from the
# code, then build into site/ (strict: a broken link or a missing page is an error).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Serve the site at http://127.0.0.1:8000, rebuilt on every save.
docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

clean-env:
	rm -rf $(VENV)
