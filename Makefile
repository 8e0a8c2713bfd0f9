# Every target sets up what it needs: a fresh machine needs only Python 3.11+, make and git.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
SAM := $(TOOLS)/bin/sam
VENV := .venv
RUN := PYTHONPATH=shared:. $(VENV)/bin/python
UV_VERSION := 0.13.9
SAM_VERSION := 1.170.0
# checkov is a uv tool like sam (its pins conflict with the project's); the stamp reinstalls on a bump.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(TOOLS)/bin/checkov
CHECKOV_STAMP := $(TOOLS)/.checkov-$(CHECKOV_VERSION)
# sam build needs python3.13 (the Lambda runtime); pyenv provides it on the project's machines.
PY313_DIR := $(shell d=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin 2>/dev/null | tail -n1); \
	[ -n "$$d" ] && echo "$$d" || dirname "$$(command -v python3.13 2>/dev/null || echo /nonexistent/x)")
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

# Simulator settings for `make sim` (see docs/running-locally.md).
PORT ?= 8787
APP_ID ?= sim-app-id
USER_KEY ?= sim-user-key
RENDER_SECONDS ?= 20

.PHONY: diagram bench bench-delivery bench-polling bench-coldstart bench-capacity sam-package openapi requirements-check help setup tools check lint format typecheck sam-validate scan sam-build lambda-build requirements test test-unit \
	test-integration test-e2e sim demo up clean

help:
	@echo "make demo   run one export end to end on the embedded default (simulator + local AWS)"
	@echo "make up     start the local stack and keep it running (endpoints in .local/endpoints.json)"
	@echo "make sim    run the AI Studios simulator alone (PORT, APP_ID, USER_KEY, RENDER_SECONDS)"
	@echo "make test   set up from nothing, run checks, template validation, build and all tests"
	@echo "make check  format check, lint, type check"
	@echo "make scan   cfn-lint and checkov on template.yaml, and on it SAM-transformed (make sam-validate: sam validate --lint)"
	@echo "make openapi  regenerate docs/openapi.json from the API functions' routes"
	@echo "make sam-package BUCKET=<s3-bucket>  build and package for the Serverless Application Repository"
	@echo "make bench-capacity  what limits throughput at 1,000 / 10,000 / 100,000 exports an hour, and the cost"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --quiet
	@touch $@

setup: $(VENV)/.synced

$(SAM): $(UV)
	UV_TOOL_DIR=$(TOOLS)/uv-tools UV_TOOL_BIN_DIR=$(TOOLS)/bin $(UV) tool install --quiet --python $(PYTHON) aws-sam-cli==$(SAM_VERSION)

$(CHECKOV_STAMP): $(UV)
	UV_TOOL_DIR=$(TOOLS)/uv-tools UV_TOOL_BIN_DIR=$(TOOLS)/bin $(UV) tool install --quiet --python $(PYTHON) checkov==$(CHECKOV_VERSION)
	@touch $@

tools: setup $(SAM) $(CHECKOV_STAMP)

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy shared local docgen cli

check: lint typecheck requirements-check

requirements: $(UV)
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --quiet -o shared/requirements.txt

requirements-check: $(UV)
	@tmp=$$(mktemp); $(UV) export --frozen --no-dev --no-hashes --no-emit-project --quiet -o $$tmp; \
	sed -i 's#-o [^ ]*#-o shared/requirements.txt#' $$tmp; \
	if ! diff -q <(grep -v '^#' $$tmp) <(grep -v '^#' shared/requirements.txt) >/dev/null; then \
		echo "shared/requirements.txt is out of date: run 'make requirements'"; rm -f $$tmp; exit 1; fi; rm -f $$tmp

sam-validate: $(SAM)
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION)

# The template's scanners; each exits non-zero on a finding. checkov must report 0 failed: a check
# that does not apply is skipped in the template, on its resource, with the reason (Metadata.checkov).
# Then the same on the template as CloudFormation deploys it (SAM-transformed, with the default
# parameters and with a destination bucket of one's own; docgen/scan_templates.py writes them).
SCAN_DIR := .local/scan
SCANNED := $(SCAN_DIR)/default.json $(SCAN_DIR)/destination.json
scan: setup $(CHECKOV_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --quiet --compact
	$(RUN) -m docgen.scan_templates --out $(SCAN_DIR)
	$(VENV)/bin/cfn-lint $(SCANNED)
	@set -e; for f in $(SCANNED); do echo "checkov: $$f"; \
		$(CHECKOV) --file $$f --framework cloudformation --skip-download --quiet --compact; done

# The Lambda runtime is python3.13, which sam build needs on the machine. `make sam-build` (before a
# deploy: without the build, sam deploy would ship the unbuilt layer) fails without it; `make test`
# runs everything else and says so, unless REQUIRE_LAMBDA_BUILD=1 (set by .ci/run) makes it an error.
sam-build: $(SAM)
	@$(MAKE) --no-print-directory lambda-build REQUIRE_LAMBDA_BUILD=1

lambda-build: $(SAM)
	@if [ ! -x "$(PY313_DIR)/python3.13" ]; then \
		if [ "$(REQUIRE_LAMBDA_BUILD)" = "1" ]; then \
			echo "ERROR: sam build needs python3.13 (the Lambda runtime), which this machine lacks:"; \
			echo "       install Python 3.13 (pyenv install 3.13, or your package manager's python3.13)."; exit 1; fi; \
		echo "SKIPPED: the Lambda build (sam build) needs python3.13, which this machine lacks."; \
		echo "         Everything else runs. To build too: install Python 3.13 (pyenv install 3.13, or"; \
		echo "         your package manager's python3.13) and run make test again."; \
	else PATH="$(PY313_DIR):$$PATH" $(SAM) build --region $(AWS_DEFAULT_REGION); fi

# make sam-package BUCKET=<bucket> [PREFIX=aistudios-export]: the built application packaged for the
# Serverless Application Repository (code, layer, LICENSE and README uploaded to the bucket) into
# .aws-sam/packaged.yaml, which `sam publish` takes (docs/deploying.md, "Publishing it privately").
PACKAGED := .aws-sam/packaged.yaml
sam-package:
	@if [ -z "$(BUCKET)" ]; then \
		echo "usage: make sam-package BUCKET=<s3-bucket> [PREFIX=aistudios-export]"; \
		echo "       the bucket (in the region you publish to) receives the packaged code, LICENSE and README;"; \
		echo "       its policy must let serverlessrepo.amazonaws.com read them (docs/deploying.md)."; \
		exit 2; fi
	@$(MAKE) --no-print-directory sam-build
	$(SAM) package --template-file .aws-sam/build/template.yaml --s3-bucket $(BUCKET) \
		--s3-prefix $(or $(PREFIX),aistudios-export) --output-template-file $(PACKAGED) --region $(AWS_DEFAULT_REGION)
	@echo "packaged: $(PACKAGED); publish it with: $(SAM) publish --template $(PACKAGED) --region $(AWS_DEFAULT_REGION)"

# The tests run in PYTEST_WORKERS processes (pytest-xdist), a test module per process at a time: a
# module's local deployment is its own, and most of a test's time is waiting for the state machine.
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile)

test-unit: setup
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) tests/unit

test-integration: setup
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) tests/integration

test-e2e: setup
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) tests/e2e

test: check sam-validate scan lambda-build
	$(VENV)/bin/pytest $(PYTEST_PARALLEL)
	@test -x "$(PY313_DIR)/python3.13" || echo "NOTE: all tests ran, but the Lambda build was SKIPPED (no python3.13; see above)."

# make bench-delivery [SIZE_MB=64,256] [VARIANTS=naive,single] [WORKERS=8] [RATE=25MB] [BENCH_ARGS=--with-2gib]
bench: bench-delivery

bench-delivery: setup
	$(RUN) benchmarks/delivery.py $(if $(SIZE_MB),--sizes $(SIZE_MB)) $(if $(VARIANTS),--variants $(VARIANTS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(RATE),--rate $(RATE)) $(BENCH_ARGS)

bench-polling: setup
	$(RUN) benchmarks/polling.py $(BENCH_ARGS)

# make bench-capacity [VOLUMES=1000,10000,100000] [BENCH_ARGS="--video-gib 2 --max-concurrent-starts 50"]
bench-capacity: setup
	$(RUN) benchmarks/capacity.py $(if $(VOLUMES),--volumes $(VOLUMES)) $(BENCH_ARGS)

# make bench-coldstart [RUNS=9]: each handler's import in a fresh interpreter next to `import boto3`
bench-coldstart: setup
	$(RUN) benchmarks/coldstart.py $(if $(RUNS),--runs $(RUNS))

# docs/openapi.json from every API function's resolver (see docgen/openapi.py); a test keeps it in sync.
openapi: setup
	$(RUN) -m docgen.openapi

# README.md's state machine diagram (Mermaid) from statemachine/export.asl.json; a test keeps it in sync.
diagram: setup
	$(RUN) -m docgen.diagram

sim: setup
	$(RUN) -m local.simulator --port $(PORT) --app-id $(APP_ID) --user-key $(USER_KEY) --render-seconds $(RENDER_SECONDS)

demo: setup
	$(RUN) -m local demo

# Options are environment variables (docs/running-locally.md), e.g. a bucket of your own:
# make up DEST_BUCKET=team-media DEST_KMS_KEY=alias/team-media KEY_TEMPLATE='campaigns/{date}/{exportId}.mp4'
up: setup
	$(RUN) -m local up

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
