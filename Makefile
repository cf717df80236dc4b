# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed into .venv by this file; nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Each plugin is its own distribution (plugins/<name>/pyproject.toml); all are
# installed beside the core, in editable mode, so an edit is live at once.
PLUGINS := $(patsubst %/pyproject.toml,%,$(sort $(wildcard plugins/*/pyproject.toml)))
PLUGIN_INSTALLS := $(foreach plugin,$(PLUGINS),-e $(plugin))

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(PLUGIN_INSTALLS)
	touch $(STAMP)

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]' $(PLUGIN_INSTALLS)
	touch $(BENCH_STAMP)

run: $(STAMP)
	$(BIN)/uvicorn examples.hello.app:app --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

# Every benchmark in quick mode (some minutes); tables and charts land in
# benchmarks/results/. Over the wire needs wrk (apt-get install -y wrk); one script:
# .venv/bin/python -m benchmarks.overhead --quick. Full runs: make bench BENCH_FLAGS=
BENCH_FLAGS ?= --quick
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.routing_scale $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.async_vs_sync $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.sql $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.cors_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.ratelimit_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.ratelimit_workers
	$(BIN)/python -m benchmarks.security_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.server_vs_uvicorn $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.cache_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.jobs $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .coverage build *.egg-info plugins/*/build plugins/*/*.egg-info
