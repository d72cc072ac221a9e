# Streamsite. The only prerequisite is python3; every target creates and reuses .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?= -n 2

.PHONY: install demo test lint up migrate bench chaos clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   install, migrate, seed demo content, serve http://127.0.0.1:8000 (SQLite)"
	@echo "make test   run the whole test suite (DATABASE_URL/REDIS_URL if set, else SQLite)"
	@echo "make lint   ruff (lint + format check) and mypy"
	@echo "make up     the production shape: migrate, collectstatic, gunicorn + Celery worker + beat"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make chaos  fault scenarios on real workers, broker, PostgreSQL and cache (DATABASE_URL)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Front-end libraries (hls.js) from npm, exactly as package-lock.json pins them.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy streamsite accounts billing catalog recommendations cdn

# Production shape on the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL; tasks go
# through RabbitMQ (CELERY_BROKER_URL, default the local broker's "/" vhost; docs/operations.md).
UP_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
up: install
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py collectstatic --noinput -v0
	DJANGO_SETTINGS_MODULE=streamsite.settings.production CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(UP_BROKER_URL)}" PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile

bench: install
	$(PY) bench/run.py

# Not part of `make test`; its fast subset (--fast) runs in CI as tests/streamsite/test_chaos_fast.py.
CHAOS_ARGS ?=
chaos: install
	$(PY) -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var/static
