# Streamsite. Every target creates and reuses .venv; what each needs from the system is in
# .ci/packages.sh (make system-deps installs it) and is checked before anything runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?= -n 2
# make test-fast: everything that needs no browser, ffmpeg, nginx or server process.
FAST_MARKERS := not slow and not needs_browser and not needs_ffmpeg and not needs_nginx and not needs_process and not needs_gettext
# The interpreter the check looks at: the one .venv was made with, once it exists.
CHECK_PYTHON = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
# Debian keeps nginx in /usr/sbin, off a normal user's PATH; the check and the tests look there.
SBIN_PATH ?= /usr/sbin:/sbin
export PATH := $(PATH)$(if $(SBIN_PATH),:$(SBIN_PATH))

.PHONY: install demo test lint up migrate bench bench-http chaos clean help image up-scaled
.PHONY: test-fast system-deps check-demo check-test pg messages
.DEFAULT_GOAL := help

help:
	@echo "make demo   install, migrate, seed demo content, serve http://127.0.0.1:8000 (SQLite)"
	@echo "make test   run the whole test suite (DATABASE_URL/REDIS_URL if set, else SQLite)"
	@echo "make test-fast  the tests that need no browser, ffmpeg, nginx or server process"
	@echo "make system-deps  install the system packages make demo and make test need"
	@echo "make pg     the whole suite on a local PostgreSQL and Redis"
	@echo "make lint   ruff (lint + format check) and mypy"
	@echo "make messages  extract marked strings into locale/*/django.po (needs gettext), then compile"
	@echo "make up     the production shape: migrate, collectstatic, gunicorn + Celery worker + beat"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make bench-http  wrk against the production shape (gunicorn, PostgreSQL, Redis, demo data)"
	@echo "make chaos  fault scenarios on real workers, broker, PostgreSQL and cache (DATABASE_URL)"
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

# Translations (docs/i18n.md): each locale/<lang>/LC_MESSAGES/django.po compiles to its .mo with
# Babel (a pinned Python package), so installing needs no system gettext; only extracting does.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

install: check-demo $(STAMP) $(NODE_STAMP) $(MO_FILES)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@


# The one extraction command; tests/streamsite/test_translations.py runs the same (MAKEMESSAGES_ARGS).
MAKEMESSAGES_ARGS = --all --no-obsolete --add-location file --ignore 'node_modules/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'var/*'
messages: $(STAMP)
	$(PY) manage.py makemessages $(MAKEMESSAGES_ARGS)
	$(MAKE) $(MO_FILES)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: check-test install
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest $(PYTEST_ARGS) -m "$(FAST_MARKERS)"

# One line naming what is missing and how to install it, then stop; quiet when all is there.
check-demo:
	@PYTHON="$(CHECK_PYTHON)" bash .ci/packages.sh check demo

check-test:
	@PYTHON="$(CHECK_PYTHON)" bash .ci/packages.sh check demo test

# apt-get (through sudo when not root) where it can, else the command to run. WITH=pg adds
# PostgreSQL and Redis for make pg.
system-deps:
	@PYTHON="$(CHECK_PYTHON)" bash .ci/packages.sh install demo test $(WITH)

# The suite on a local PostgreSQL and Redis, as CI runs it (the concurrency tests skip on
# SQLite): starts them if they are installed and down. pytest-django creates its own
# test_* databases, so the one named need not exist.
PG_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/streamsite_test
PG_REDIS_URL ?= redis://127.0.0.1:6379/0
pg: check-test install
	@PYTHON="$(CHECK_PYTHON)" bash .ci/packages.sh check pg
	bash .ci/services.sh
	DATABASE_URL='$(PG_DATABASE_URL)' REDIS_URL='$(PG_REDIS_URL)' $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy streamsite accounts billing catalog media playback recommendations cdn insights audit

# Production shape on the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL; tasks go
# through RabbitMQ (CELERY_BROKER_URL, default the local broker's "/" vhost; docs/operations.md).
UP_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
up: install
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=streamsite.settings.production $(PY) manage.py collectstatic --noinput -v0
	DJANGO_SETTINGS_MODULE=streamsite.settings.production CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(UP_BROKER_URL)}" PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile

bench: install
	$(PY) bench/run.py

# The request path under wrk: production settings on loopback, ratios against /healthz and a
# static file in alternating rounds (docs/benchmarks.md). Not part of make test.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/streamsite_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
bench-http: install
	@PYTHON="$(CHECK_PYTHON)" bash .ci/packages.sh check pg bench
	bash .ci/services.sh
	@db=$${DATABASE_URL:-$(BENCH_DATABASE_URL)}; name=$${db##*/}; \
	  psql "$${db%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$$name'" | grep -q 1 \
	  || psql "$${db%/*}/postgres" -qc "CREATE DATABASE \"$$name\""
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(BENCH_REDIS_URL)}" \
	  $(PY) bench/http/run.py

# Not part of `make test`; its fast subset (--fast) runs in CI as tests/streamsite/test_chaos_fast.py.
CHAOS_ARGS ?=
chaos: install
	$(PY) -m bench.chaos $(CHAOS_ARGS)

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
