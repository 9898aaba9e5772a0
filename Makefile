# fieldsync: `make run` serves the embedded default, `make test` runs the whole suite.
# Both create .venv and install the npm packages of clients/ on first use
# (Python 3.11+ and Node.js 20+ required).

SHELL := /bin/bash

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# pytest-xdist workers (each with its own PostgreSQL database); 0 runs the tests in one process.
TEST_WORKERS ?= 2
# Every TypeScript package: clients/<name>/package.json with its committed package-lock.json.
NODE_DIRS := $(sort $(patsubst %/package.json,%,$(wildcard clients/*/package.json)))
NODE_STAMPS := $(addsuffix /node_modules/.installed,$(NODE_DIRS))

.PHONY: run test test-python test-node node lint bench clean help

help:
	@echo "make run    - install into .venv and clients/*/node_modules, build the web apps, migrate,"
	@echo "              seed the demo network, serve on http://127.0.0.1:8000"
	@echo "make test   - the same installs with the dev extras, then the whole test suite"
	@echo "              (ARGS='-k auth' narrows pytest; TEST_WORKERS=0 runs it in one process)"
	@echo "make lint   - ruff check"
	@echo "make bench  - run the benchmarks in bench/ (prints one JSON line each)"
	@echo "make clean  - remove .venv, var/, test-artifacts/ and the clients' node_modules and builds"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "fieldsync needs Python 3.11 or newer on PATH (python3.11, python3.12, ...)"; exit 1; }
	@echo "[1/3] Creating $(VENV) with $(PYTHON)..."
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV): on Debian or Ubuntu install the venv module first (apt install python3-venv)"; exit 1; }
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "[2/3] Installing fieldsync and its dependencies into $(VENV) (the first time takes a minute or two)..."
	@$(BIN)/python -m pip install --progress-bar on -e '.[dev]' 2>&1 \
		| grep -E --line-buffered '^(Collecting|Successfully installed|ERROR|error)' \
		| sed -u -E 's/^Successfully installed (.*)/installed: \1/; s/^(.{0,100}).*/    \1/'; \
		test $${PIPESTATUS[0]} -eq 0 || { echo "pip install failed: run '$(BIN)/python -m pip install -e .[dev]' to see why"; exit 1; }
	@touch $@

# npm ci when the lock file changed; `build` only when a source is newer than the last build.
clients/%/node_modules/.installed: clients/%/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "fieldsync's clients need Node.js 20+ and npm on PATH (https://nodejs.org)"; exit 1; }
	@echo "[3/3] Installing the npm packages of clients/$* (npm ci)..."
	@cd clients/$* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# clients/typescript (the SDK) sorts before the apps built on it; once one package is rebuilt,
# every later one is too (an app bundles the SDK's fresh build).
node: $(NODE_STAMPS)
	@rebuilt=; for d in $(NODE_DIRS); do \
		stamp=$$d/node_modules/.built; \
		grep -q '"build"' $$d/package.json || continue; \
		if [ -n "$$rebuilt" ] || [ ! -e $$stamp ] || [ -n "$$(find $$d -path $$d/node_modules -prune \
			-o -path $$d/dist -prune -o -type f -newer $$stamp -print -quit)" ]; then \
			echo "Building $$d (npm run build)..."; \
			(cd $$d && npm run --silent build) || exit 1; \
			touch $$stamp; rebuilt=1; \
		fi; \
	done

run: $(STAMP) node
	$(BIN)/fieldsync serve --seed-demo

test: $(STAMP) node
	@$(MAKE) --no-print-directory test-python
	@$(MAKE) --no-print-directory test-node

test-python: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(ARGS)

test-node: $(STAMP) node
	@for d in $(NODE_DIRS); do \
		grep -q '"test"' $$d/package.json || continue; \
		echo "== npm test in $$d"; \
		(cd $$d && PATH="$(CURDIR)/$(BIN):$$PATH" FIELDSYNC_REPO="$(CURDIR)" npm test) || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var test-artifacts $(addsuffix /node_modules,$(NODE_DIRS)) $(addsuffix /dist,$(NODE_DIRS))
