# The two commands: `make run` and `make test`. Both create .venv and install what they need,
# at the versions (and hashes) of the lock files; `make lock` refreshes those from pyproject.toml.
# `make run` starts on ./config.json (CONFIG=path for another), or the sandbox without one;
# `make sandbox` starts the sandbox even beside a config.json (CONFIG=path lends it that
# file's model sections).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The project itself, editable, on top of what a lock file installed.
INSTALL_PROJECT := $(BIN)/python -m pip install --quiet --no-deps -e .
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --resolver=backtracking

.PHONY: run sandbox test lint bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(INSTALL_PROJECT)
	touch $@

$(VENV)/.installed-test: requirements-test.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	$(INSTALL_PROJECT)
	touch $@ $(VENV)/.installed-run

# Python 3.11 on Linux, as CI: run it there, so the markers and wheels fit.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(COMPILE) -o requirements.lock pyproject.toml
	$(COMPILE) --extra test -o requirements-test.lock pyproject.toml
	$(COMPILE) --extra test --extra bench -o requirements-bench.lock pyproject.toml

run: $(VENV)/.installed-run
	$(BIN)/python app.py $(if $(CONFIG),--config $(CONFIG))

sandbox: $(VENV)/.installed-run
	$(BIN)/python app.py --sandbox $(if $(CONFIG),--config $(CONFIG))

lint: $(VENV)/.installed-test
	$(BIN)/lint-imports
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest tests/unit tests/contract tests/e2e -q $(PYTEST_ARGS)

$(VENV)/.installed-bench: requirements-bench.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-bench.lock
	$(INSTALL_PROJECT)
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

# Benchmarks against same-run baselines (BENCHMARKS.md): 7-8 minutes, never part of `test`.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
