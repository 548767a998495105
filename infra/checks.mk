# Infrastructure checks. Included from the Makefile:  include infra/checks.mk
#
#   make infra-tools   creates .venv-checkov (checkov, pinned in infra/requirements-checkov.txt)
#   make infra-test    runs tests/infra (needs requirements-infra.txt in the test environment)
#
# checkov lives in its own environment because it pins pycep-parser 0.5.1, while the tests
# parse Bicep with pycep-parser 0.7.1 (requirements-infra.txt).

INFRA_PYTHON ?= $(or $(PYTHON),python3)
INFRA_TEST_PYTHON ?= .venv/bin/python
CHECKOV_VENV ?= .venv-checkov

.PHONY: infra-tools infra-test

infra-tools: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: infra/requirements-checkov.txt
	$(INFRA_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
	touch $@

infra-test: infra-tools
	$(INFRA_TEST_PYTHON) -m pytest -q tests/infra
