# Every target works from a fresh clone with only python3 and make.
# VENV (and STAMP, its up-to-date marker) may be overridden to run the targets of a copy of the
# tree with an existing environment, as the spec-update test does.
PYTHON ?= python3
VENV := .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.DEFAULT_GOAL := help
DOCS_OUT := build/docs
DOCS_PORT ?= 8000

.PHONY: help demo install docs docs-serve generate check-generated update-spec check-spec add-model lint api-check test ci build publish clean bench bench-polling bench-batch bench-downloads bench-waits bump-generator

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# pip 25.1 is the first to install PEP 735 dependency groups (--group).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[cli,sandbox]' --group dev --group docs
	touch $(STAMP)

# The benchmark environment: the project plus replicate 1.0.7 and matplotlib, never in .venv.
$(BENCH_STAMP): pyproject.toml tools/bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[sandbox]' -r tools/bench/requirements.txt
	touch $(BENCH_STAMP)

demo: $(STAMP) ## The main job against a local sandbox (DEMO_LIVE=1 + COMETAPI_KEY: the real API)
	$(BIN)/python -m tools.demo

install: $(STAMP) ## Create .venv: the project editable, its extras and the dev group

generate: $(STAMP) ## Regenerate generated/ from openapi/ (specs, overlay, config, template patches, model documents)
	$(BIN)/python -m tools.generate

check-generated: $(STAMP) ## Fail if openapi/ differs from its provenance records or generated/ from openapi/
	$(BIN)/python -m tools.generate --check

update-spec: $(STAMP) ## Take a new spec: make update-spec SPEC=<path or URL> [ALLOW_BREAKING=1] [SKIP_TESTS=1]
	@test -n "$(SPEC)" || { echo "usage: make update-spec SPEC=<path or URL>"; exit 2; }
	$(BIN)/python -m tools.update_spec "$(SPEC)" $(if $(SKIP_TESTS),--skip-tests)

add-model: $(STAMP) ## Vendor a model's document: make add-model SCHEMA=<path or URL> [MODEL=owner/name] [ALLOW_BREAKING=1] [SOURCE=text]
	@test -n "$(SCHEMA)" || { echo "usage: make add-model SCHEMA=<path or URL> [MODEL=owner/name]"; exit 2; }
	$(BIN)/python -m tools.add_model "$(SCHEMA)" $(if $(MODEL),--model "$(MODEL)") $(if $(SOURCE),--source "$(SOURCE)")

# The tool exits 0 (current), 1 (an update is available) or 2 (cannot read SPEC); make turns
# any failure of a recipe into its own exit status 2, naming the tool's as "Error 1" or "Error 2".
check-spec: $(STAMP) ## Is the vendored spec current? make check-spec SPEC=<path or URL>: the report, nothing written
	@test -n "$(SPEC)" || { echo "usage: make check-spec SPEC=<path or URL>"; exit 2; }
	@$(BIN)/python -m tools.update_spec --check "$(SPEC)"

bump-generator: $(STAMP) ## Move the openapi-python-client pin and regenerate: make bump-generator VERSION=x.y.z
	@test -n "$(VERSION)" || { echo "usage: make bump-generator VERSION=x.y.z"; exit 2; }
	$(BIN)/python -m tools.bump_generator "$(VERSION)"

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict, lint-imports (the layers, no cycles)
	$(BIN)/ruff check src tools tests
	$(BIN)/ruff format --check src tools tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

api-check: $(STAMP) ## The public surface against the last release (griffe); fails on a breakage not accepted
	$(BIN)/python -m tools.api_check

# Two processes (fewer on a one-core machine), each taking whole modules: most tests wait on
# servers, subprocesses and timers, so the suite takes about half as long.
test: $(STAMP) ## Run the test suite, with the branch-coverage gate of pyproject.toml
	$(BIN)/python -m pytest -n auto --maxprocesses 2 --dist loadfile --cov --cov-report=term

docs: $(STAMP) ## Build the documentation site into build/docs; any warning fails the build
	$(BIN)/python -m sphinx -W --keep-going -n -q -b html docs $(DOCS_OUT)

docs-serve: docs ## Build the site and serve it on http://127.0.0.1:8000 (DOCS_PORT=...)
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory $(DOCS_OUT) $(DOCS_PORT)

ci: check-generated lint api-check test ## What CI runs

bench: $(BENCH_STAMP) ## Per call, import, waits and downloads, side by side with raw httpx and replicate, in a few minutes (BENCH_QUICK=1: shorter)
	$(BENCH_VENV)/bin/python -m tools.bench

bench-polling: $(STAMP) ## Poll schedules on workload W1 (simulated clock)
	$(BIN)/python -m tools.bench_polling

bench-batch: $(STAMP) ## client.batch vs one-by-one waits over loopback, 10,000 predictions (QUICK=1: 1,000; CLI=0: no CLI rows)
	$(BIN)/python -m tools.bench_batch

bench-downloads: $(STAMP) ## Event-loop stalls and MB/s of a 200 MB async download, before and after
	$(BIN)/python -m tools.bench_downloads

bench-waits: $(BENCH_STAMP) ## 1,000 runs at once; 1,000 and 10,000 concurrent waits on one AsyncClient over loopback
	$(BENCH_VENV)/bin/python -m tools.bench crowd waits

build: $(STAMP) ## Build the sdist and wheel into dist/ and check them with twine
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

publish: build ## Upload dist/ to the index in TWINE_REPOSITORY_URL (or TWINE_REPOSITORY in .pypirc)
	$(BIN)/python -m tools.publish dist

clean: ## Remove the virtual environment and build outputs
	rm -rf $(VENV) $(BENCH_VENV) bench-output build dist .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
