# Two commands: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests use the real PostgreSQL and Redis; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/stressapp
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint format bench train clean screenshots browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# Quiet by default (warnings and errors only; LOG_LEVEL=INFO shows every request and task);
# the address is printed once the web server answers, so it is the last thing on the screen.
run: $(VENV)/.runtime
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-true}; \
	export LOG_LEVEL=$${LOG_LEVEL:-WARNING}; \
	export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/data/prometheus}; \
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"; \
	$(BIN)/python manage.py migrate --no-input -v 0 && \
	$(BIN)/python manage.py ensure_model || exit 1; \
	echo "  Starting the web server and the worker..."; \
	( for _ in $$(seq 1 120); do \
	    $(BIN)/python -c "import urllib.request; urllib.request.urlopen('http://$(HOST):$(PORT)/health', timeout=1)" 2>/dev/null && break; \
	    sleep 0.5; \
	  done; \
	  echo ""; \
	  echo "  Stress tracker: http://$(HOST):$(PORT)/   (API: http://$(HOST):$(PORT)/api/, docs: /docs)"; \
	  echo "  First admin: $(BIN)/python manage.py createsuperuser, then http://$(HOST):$(PORT)/admin/"; \
	  echo "  Ctrl-C stops the web server and the worker. LOG_LEVEL=INFO make run shows every request."; \
	  echo "" ) & \
	HOST=$(HOST) PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile

# Browser tests drive Debian's Chromium; install it when missing and we may (root + apt).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null); } || \
		echo "chromium not installed: browser tests will be skipped (they fail under CI=true)"

test: $(VENV)/.dev browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/bandit -q -c pyproject.toml -r accounts predictions mlcore stressapp manage.py -x "*/tests/*"

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: $(VENV)/.runtime
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py train_model

bench: $(VENV)/.dev
	@command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
	$(BIN)/python -m benchmarks.inference
	$(BIN)/python -m benchmarks.recordings
	$(BIN)/python -m benchmarks.polar
	$(BIN)/python -m benchmarks.apple_health
	$(BIN)/python -m benchmarks.api
	$(BIN)/python -m benchmarks.batch
	$(BIN)/python -m benchmarks.recording_service
	$(BIN)/python -m benchmarks.recovery
	$(BIN)/python -m benchmarks.soak

screenshots: $(VENV)/.dev browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -m screenshots -q predictions/tests/test_screenshots.py
	@echo "Saved to screenshots/"

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
