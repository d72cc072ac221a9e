# Streamsite. The only prerequisite is python3; every target creates and reuses .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?= -n 2

.PHONY: install demo test lint up migrate bench clean help image up-scaled
.DEFAULT_GOAL := help

help:
	@echo "make demo   install, migrate, seed demo content, serve http://127.0.0.1:8000 (SQLite)"
	@echo "make test   run the whole test suite (DATABASE_URL/REDIS_URL if set, else SQLite)"
	@echo "make lint   ruff (lint + format check) and mypy"
	@echo "make up     the production shape: migrate, collectstatic, gunicorn + Celery worker + beat"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make image  build the container image (podman; Debian base bootstrapped locally)"
	@echo "make up-scaled  nginx in front of two web processes, two workers, beat, poller"

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

# Production shape on the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL.
up: install
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py collectstatic --noinput -v0
	DJANGO_SETTINGS_MODULE=streamsite.settings.production PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var/static

# One container image for every role (Containerfile). The base is bootstrapped from Debian's
# mirror when absent (deploy/base-image.sh); with a registry: make image BASE=docker.io/library/python:3.11-slim
IMAGE ?= localhost/streamsite:latest
BASE ?= localhost/debian:bookworm
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
image: $(NODE_STAMP)
	BASE_IMAGE=$(BASE) bash deploy/base-image.sh
	bash deploy/podman.sh build --format docker --build-arg BASE=$(BASE) \
	  --build-context hlsjs=$$(realpath node_modules/hls.js/dist) \
	  $$(test -s $(CA_BUNDLE) && echo --secret id=cacert,src=$(CA_BUNDLE)) -f Containerfile -t $(IMAGE) .

# The cluster's shape on one machine: nginx (deploy/k8s's front config) in front of two
# gunicorn processes, two workers, beat and the poller, on DATABASE_URL and REDIS_URL.
up-scaled: install
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py collectstatic --noinput -v0
	DJANGO_SETTINGS_MODULE=streamsite.settings.production PATH="$(CURDIR)/$(BIN):$$PATH" exec $(PY) deploy/up_scaled.py
