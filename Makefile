# fieldsync: `make run` serves the embedded default, `make test` runs the whole suite.
# Both create .venv and install what they need on first use (Python 3.11+ required).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench clean help

help:
	@echo "make run    - install into .venv, migrate, seed the demo network, serve on http://127.0.0.1:8000"
	@echo "make test   - install dev extras into .venv and run the whole test suite (ARGS='-k auth' to narrow it)"
	@echo "make lint   - ruff check"
	@echo "make bench  - run the benchmarks in bench/ (prints one JSON line each)"
	@echo "make clean  - remove .venv and var/"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "fieldsync needs Python 3.11 or newer on PATH (python3.11, python3.12, ...)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON) and installing fieldsync (first run takes a minute)..."
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV): on Debian or Ubuntu install the venv module first (apt install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/fieldsync serve --seed-demo

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var test-artifacts
