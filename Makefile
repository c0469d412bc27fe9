# emr-platform: every target sets up what it needs from the pinned files (requirements*.txt, package-lock.json).
# Quick start: `make synth`, `make test`. Real accounts: `make diff`, `make deploy ENV=dev`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
NODE_PKG := node-linux-$(if $(filter aarch64 arm64,$(ARCH)),arm64,x64)
# Node 22 from the npm registry goes first on PATH: jsii (run by the Python app) and the CDK CLI both use it.
export PATH := $(CURDIR)/node_modules/$(NODE_PKG)/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_NODE := $(CURDIR)/scripts/jsii-node
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# uv (pinned in requirements-bootstrap.txt) installs the pinned requirements into the venvs: pip takes about 10 times
# as long (minutes, not seconds) on this project's dependencies. Copies, not hard links: its cache may be on another
# file system than the project.
# uv reads neither pip's index settings nor, by default, the system's certificates: it is given both (a mirror in
# PIP_INDEX_URL, a company CA in the system store).
UV := $(VENV)/bin/uv
export UV_LINK_MODE := copy
export UV_NATIVE_TLS := 1
ifdef PIP_INDEX_URL
export UV_DEFAULT_INDEX ?= $(PIP_INDEX_URL)
endif
CDK := cdk --no-notices
ENV ?=

.PHONY: help setup dist catalog refresh-catalog synth synth-pipeline guard guard-base guard-accept diagram docs test lint unit e2e bench diff deploy deploy-pipeline clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(UV): requirements-bootstrap.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-bootstrap.txt 2>&1 | { grep -v 'is ignored: it is neither' || true; }
	touch $@

$(VENV)/.installed: $(UV) requirements.txt requirements-dev.txt pyproject.toml
	$(UV) pip install --python $(PY) --quiet -r requirements-dev.txt
	# cdk.json runs the app with -O, which reads *.opt-1.pyc: compile them now, or every synthesis where bytecode
	# cannot be written (PYTHONDONTWRITEBYTECODE, a read-only venv) recompiles aws-cdk-lib's modules (3 s).
	$(PY) -O -m compileall -q -j 0 $(VENV)/lib >/dev/null
	touch $@

# The package's own -O bytecode too (cdk.json runs the app with -O), refreshed by every synthesis.
define compile_package
	$(PY) -O -m compileall -q emr_platform app.py >/dev/null
endef

# checkov in a venv of its own: its pinned dependencies (boto3, pydantic, ...) need not match the app's.
.venv-checkov/.installed: requirements-checkov.txt | $(UV)
	$(PYTHON) -m venv .venv-checkov
	$(UV) pip install --python .venv-checkov/bin/python --quiet -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	node --version | grep -q '^v22\.' || { echo "error: node_modules/$(NODE_PKG) did not provide Node 22" >&2; exit 1; }
	touch $@

setup: $(VENV)/.installed node_modules/.installed .venv-checkov/.installed  ## create the Python venvs and install the pinned CDK CLI and Node 22

synth: setup  ## synthesize every environment into cdk.out/ and print a summary
	rm -rf cdk.out
	$(compile_package)
	$(CDK) synth --quiet
	$(PY) -m emr_platform.tools.summary cdk.out

synth-pipeline: setup  ## synthesize the GitOps pipeline of config/pipeline.yaml (with its stages) into cdk.out/
	rm -rf cdk.out
	$(CDK) synth --quiet -c pipeline=true

guard: synth  ## name every change that would replace or delete a resource against baseline/ (exit 1 if any)
	$(PY) -m emr_platform.tools.guard cdk.out baseline

# The base branch synthesized in a worktree of its own with this checkout's venv and CLI, so that the guard
# compares two real syntheses: an accepted (or hand-edited) baseline cannot hide a change from a pull request.
BASE ?= origin/main
guard-base: synth  ## compare this synthesis with the base branch's (BASE=origin/main); every verdict needs an entry in guard-acknowledgements.yaml
	rm -rf base.out && git worktree remove --force .guard-base 2>/dev/null || true
	git worktree add --detach .guard-base $(BASE)
	ln -s $(CURDIR)/.venv .guard-base/.venv && ln -s $(CURDIR)/node_modules .guard-base/node_modules
	cd .guard-base && $(CDK) synth --quiet -o $(CURDIR)/base.out >/dev/null
	git worktree remove --force .guard-base
	$(PY) -m emr_platform.tools.guard cdk.out --base base.out --report guard-report.md

guard-accept: synth  ## make this synthesis the baseline (commit baseline/ with the change that needs it)
	$(PY) -m emr_platform.tools.guard cdk.out baseline --accept

diagram: synth  ## draw docs/architecture.svg from the dev stack's cloud assembly (make test fails while it is stale)
	$(PY) -m emr_platform.tools.diagram cdk.out emr-platform-dev docs/architecture.svg

docs: diagram  ## regenerate docs/: the architecture diagram, the settings reference, the JSON Schemas, the release list, the acknowledged findings
	$(PY) -m emr_platform.tools.reference docs
	$(PY) -m emr_platform.tools.catalog docs docs/releases.md
	$(PY) -m emr_platform.tools.findings cdk.out docs/compliance.md

catalog: setup  ## rebuild the release and instance catalog offline (moto's copy of EMR's API answers + catalog/ seeds)
	$(PY) -m emr_platform.tools.catalog build
	$(PY) -m emr_platform.tools.catalog docs docs/releases.md

refresh-catalog: setup  ## rebuild the catalog from EMR's API (needs AWS credentials; REGIONS="eu-west-1 us-east-1" to limit)
	$(PY) -m emr_platform.tools.catalog refresh $(if $(REGIONS),--regions $(REGIONS),)
	$(PY) -m emr_platform.tools.catalog docs docs/releases.md

lint: setup  ## ruff (lint + format check, size rules on), the layers' import contract and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy examples/platform-team/app.py  # apart: its app.py would clash with ours as module "app"

unit: setup  ## the test suite only (two workers; a module's fixtures stay on one)
	$(PY) -m pytest -q -n 2 --dist loadfile

e2e: setup  ## only the deploy path: every environment deployed into a local AWS emulator, the ops CLI, dev's update, replacement, destroy and adoption
	$(PY) -m pytest -q -m e2e

test: lint unit  ## lint, type check and the whole test suite (the e2e tests included)

bench: setup  ## time synthesis against plain aws-cdk-lib making the same templates and gates (<= 1.3x), cost per cluster, the test suite
	$(PY) scripts/bench.py

# Stacks of one cluster (STACK=<cluster or group>) or all; the CLI deploys cluster stacks in parallel, after the foundation.
CONCURRENCY ?= 4
STACK_ARGS = $(if $(STACK),$$($(PY) -m emr_platform.tools.stacks $(ENV) $(STACK)) --exclusively,--all)

diff: setup  ## cdk diff against the deployed stacks (needs AWS credentials); ENV=dev for one environment, STACK=<cluster> for one cluster's stack
	@test -z "$(STACK)" || test -n "$(ENV)" || { echo "error: STACK needs ENV. Fix: make diff ENV=dev STACK=analytics" >&2; exit 2; }
	$(CDK) diff $(if $(ENV),-c env=$(ENV)) $(STACK_ARGS)

deploy: setup  ## deploy one environment (needs AWS credentials): make deploy ENV=dev [STACK=<cluster>] [CONCURRENCY=4]
	@test -n "$(ENV)" || { echo "error: ENV is not set. Fix: make deploy ENV=dev (one of: $$(ls config | sed 's/.yaml//' | tr '\n' ' '))" >&2; exit 2; }
	$(PY) -m emr_platform.ops preflight $(ENV)  # refuses when a deleted stack kept what a new one collides with
	$(CDK) deploy -c env=$(ENV) $(STACK_ARGS) --concurrency $(CONCURRENCY) --require-approval broadening

deploy-pipeline: setup  ## deploy the pipeline once (needs credentials of its account); it then updates itself on every push
	# --all selects the top-level stacks only: the pipeline stack, not the stacks of its stages (the pipeline deploys those).
	$(CDK) deploy -c pipeline=true --all --require-approval broadening

dist: setup  ## build the wheel and sdist into dist/ (what a platform team installs; see examples/platform-team)
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

clean:  ## remove generated files (keeps the venvs and node_modules)
	rm -rf cdk.out base.out guard-report.md dist .pytest_cache .mypy_cache .ruff_cache
