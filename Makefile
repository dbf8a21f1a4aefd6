# csto-bot: `make run` starts the bot (console without a token), `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# `make test-fast`: the in-process tests, for the edit-test loop (about 15 s): not the subprocess bots
# over real HTTP (tests/e2e), not the tests that start python or wait on real time (marked slow), and
# fewer fuzz examples. `make test` runs everything.
.PHONY: run test test-fast test-long lint bench load check eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ingest]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/csto-bot

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	FUZZ_EXAMPLES=25 $(BIN)/python -m pytest -q -m "not e2e and not slow"

# ruff (lint and format, whole tree) and mypy (strict for bot/, relaxed for tests/): pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-long: $(STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/csto-bot check

eval: $(STAMP)
	$(BIN)/csto-bot eval ../shared/eval/questions.jsonl

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench

load: $(STAMP)
	$(BIN)/python -m tests.support.load

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache bench/results.json
