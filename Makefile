# Learning Calendar Sync: every target installs what it needs by itself.
#   make demo   the whole product on this machine (sandbox + Azurite + sample feed)
#   make test   lint, type checks and the full test suite
#   make serve  the function app's HTTP routes and the admin console on this machine
#   make bench  the scale benchmark (not part of make test)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

include infra/checks.mk

.PHONY: demo serve test lint unit bench infra-tools chromium screenshots clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   - run the product locally against the sandbox and Azurite, print who got what"
	@echo "make serve  - the admin console and the HTTP routes on http://127.0.0.1:7071 (sandbox + Azurite)"
	@echo "make test   - lint, type-check and run every test (installs Chromium for the browser tests)"
	@echo "make bench  - run the scale benchmark (takes a while)"

$(STAMP): requirements.txt requirements-dev.txt requirements-infra.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11.")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18 or newer) is needed for Azurite, the local Azure Storage emulator."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/learncal demo

serve: $(STAMP) $(NODE_STAMP)
	$(BIN)/learncal serve --sandbox

# The console's browser tests drive Debian's Chromium (Playwright cannot download its own browser
# here). Installed once with apt-get, as root or through sudo; quick when it is already there.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM). Install Debian's package as root: apt-get install chromium"; \
	    echo "(or point CHROMIUM=/path/to/chromium at another build and export LEARNCAL_CHROMIUM=the same path)."; \
	    exit 1; \
	  fi; }

# docs/images/*.png for docs/console.md, taken from a fresh `learncal serve --sandbox`.
screenshots: $(STAMP) $(NODE_STAMP) chromium
	$(PY) docs/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test: $(STAMP) $(NODE_STAMP) chromium infra-tools lint
	LEARNCAL_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q

bench: $(STAMP) $(NODE_STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .venv-checkov node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .learncal
