# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed into .venv by this file; nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/uvicorn examples.hello.app:app --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

clean:
	rm -rf $(VENV) .coverage build *.egg-info
