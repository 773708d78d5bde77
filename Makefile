# The two commands of the README. Each does all of its own set-up on a fresh machine
# (Python 3.11+ with pip, Node.js with npm; Debian packages are installed as root).

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup setup-test

## Build the knowledge graph and serve it (SPARQL endpoint, pages, downloads) on the embedded store.
run: setup
	$(PYTHON) -m plan_kg serve --host $(HOST) --port $(PORT)

## Run the whole test suite: unit, end-to-end with real clients, W3C tests, headless Chromium.
test: setup-test
	$(PYTHON) -m pytest

setup:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e .
	npm ci --no-audit --no-fund --loglevel=error

setup-test: setup
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@# CKAN with ckanext-dcat in a virtual environment of its own, for the harvesting test (tests/test_dcat_ckan.py)
	@test -x .cache/ckan-venv/bin/python || $(PYTHON) -m venv .cache/ckan-venv
	.cache/ckan-venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/ckan-requirements.txt
	@# Debian's chromium for the browser tests, nginx for the reverse-proxy tests (in /usr/sbin, off a user's PATH)
	@missing=; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Install Debian's$$missing (sudo apt-get install$$missing) for the browser and reverse-proxy tests"; fi; fi
