# Everything a fresh clone needs: `make demo` and `make test` create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BASE   := $(VENV)/.installed-base
SRC    := graphkit tests examples benchmarks

# Some shells export PYTHONDONTWRITEBYTECODE: then every pytest run recompiles graphkit and
# re-rewrites the asserts of every test module (~15 s of CPU per xdist worker).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test test-slow test-local lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The demo needs only graphkit's own dependencies (a few packages, all wheels).
$(BASE): pyproject.toml $(VENV)/bin/python
	@echo "installing graphkit and its dependencies into $(VENV) ..."
	$(BIN)/python -m pip install --progress-bar on -e .
	touch $(BASE)

# Tests, linters, LangGraph (parity tests and benchmarks) and the model SDKs.
$(STAMP): pyproject.toml $(BASE)
	@echo "installing the development tools into $(VENV) ..."
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/graphkit demo

# mypy runs beside pytest (its report is printed after pytest's); either failing fails.
test: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	@$(BIN)/mypy graphkit tests/typing > $(VENV)/mypy.out 2>&1 & mypy=$$!; \
	$(BIN)/pytest -q -n auto --dist loadgroup; tests=$$?; \
	wait $$mypy; typed=$$?; cat $(VENV)/mypy.out; \
	[ $$tests -eq 0 ] && [ $$typed -eq 0 ]

# Long-running suites (50k-vector recall, SIGKILL and multi-process reliability, Chromium,
# Ray, timed fuzzing, TTL expiry, index-damage rebuilds), then every property test at its
# full example count (make test runs a fifth: tests/hypothesis_budget.py); CI runs them.
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow
	GRAPHKIT_THOROUGH=1 $(BIN)/pytest -q -n auto --dist loadgroup -m hypothesis

# Offline sentence-transformer embeddings (graphkit[local]). A CPU build of torch is
# installed first where one is available, so pip does not pull a multi-GB CUDA build.
test-local: $(STAMP)
	$(BIN)/python -m pip install -q 'torch==2.13.0' || true
	$(BIN)/python -m pip install -q -e '.[local]'
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -m local

lint: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy graphkit tests/typing

bench: $(STAMP)
	$(BIN)/graphkit bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
