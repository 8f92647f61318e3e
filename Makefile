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

.PHONY: run test lint format bench bench-hosts train clean screenshots browser

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
# Debug is off, as in production (a mistyped address shows our own page, not Django's
# debug page with every URL pattern): a secret made once under data/, plain-http cookies and
# local webhooks allowed, mails to the console, static files collected for whitenoise.
run: $(VENV)/.runtime
	@mkdir -p data; \
	test -s data/secret_key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > data/secret_key; \
	export DJANGO_DEBUG=$${DJANGO_DEBUG:-false}; \
	export DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(cat data/secret_key)}; \
	export DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,[::1],$(HOST)}; \
	export DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-false}; \
	export DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-false}; \
	export DJANGO_SECURE_HSTS_SECONDS=$${DJANGO_SECURE_HSTS_SECONDS:-0}; \
	export BATCH_CALLBACK_ALLOW_HTTP=$${BATCH_CALLBACK_ALLOW_HTTP:-true}; \
	export BATCH_CALLBACK_ALLOW_PRIVATE=$${BATCH_CALLBACK_ALLOW_PRIVATE:-true}; \
	export EMAIL_URL=$${EMAIL_URL:-consolemail://}; \
	export LOG_LEVEL=$${LOG_LEVEL:-WARNING}; \
	export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/data/prometheus}; \
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"; \
	$(BIN)/python manage.py migrate --no-input -v 0 && \
	$(BIN)/python manage.py collectstatic --no-input -v 0 && \
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
	@# Migrations are left out: their SQL is built once from constants, never from input.
	$(BIN)/bandit -q -c pyproject.toml -r accounts predictions mlcore stressapp manage.py -x "*/tests/*,*/migrations/*"

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
	$(BIN)/python -m benchmarks.personal
	$(BIN)/python -m benchmarks.history
	$(BIN)/python -m benchmarks.soak
	$(BIN)/python -m benchmarks.hosts

# Six hosts (network namespaces) on this machine: database, broker, two web, two workers; a
# worker host and a web host lost, the broker restarted, throughput per added worker. Root.
bench-hosts: $(VENV)/.dev
	$(BIN)/python -m benchmarks.hosts

screenshots: $(VENV)/.dev browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -m screenshots -q predictions/tests/test_screenshots.py
	@echo "Saved to screenshots/"

# The Dockerfile built and run without a Docker engine (root; scripts/image_proof.py).
.PHONY: image-proof
image-proof:
	bash scripts/image_proof.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
