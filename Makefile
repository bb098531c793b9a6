# Omnichannel helpdesk. `make help` lists the targets.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.DEFAULT_GOAL := help

#: help - list the targets
help:
	@grep -E '^#: ' $(MAKEFILE_LIST) | sed 's/^#: /  make /'

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# Message catalogs are compiled at install, never committed.
compiled-messages: $(VENV)/.installed
	@cd . && $(BIN)/python manage.py compilemessages -v0 --ignore=.venv

#: run - set up (venv, install, migrate, demo data once) and serve at http://127.0.0.1:$(PORT)
run: $(VENV)/.installed compiled-messages
	@mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py collectstatic --no-input -v0
	@if [ ! -f var/.seeded ] || [ -n "$$DATABASE_URL" ]; then $(BIN)/python manage.py seed_demo && touch var/.seeded; fi
	$(BIN)/python manage.py serve --port $(PORT)

#: worker - a Celery worker (production topology, needs REDIS_URL)
worker: $(VENV)/.installed
	$(BIN)/celery -A helpdesk worker -l info

#: beat - the Celery scheduler (production topology, needs REDIS_URL)
beat: $(VENV)/.installed
	$(BIN)/celery -A helpdesk beat -l info

browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

# The IMAP tests start their own dovecot (own config, port and folders); the
# system service the package starts is not used, so it is stopped.
mailserver:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  echo "Installing Debian's dovecot-imapd for the IMAP tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  (service dovecot stop >/dev/null 2>&1 || true); \
	fi

#: test - install what the tests need (browser and mail server included) and run every test
test: $(VENV)/.installed-test compiled-messages browser mailserver
	$(BIN)/python manage.py makemigrations --check --dry-run -v0
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_ARGS)

#: bench - generate load data on PostgreSQL and write bench/RESULTS.md
bench: $(VENV)/.installed-test
	bash bench/run.sh

#: lint - ruff, import contracts, migrations in sync
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run

#: fmt - format and fix what ruff can
fmt: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

#: messages - refresh the en/pl/cs message catalogs from the code
messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages -l en -l pl -l cs --ignore=.venv --ignore=bench --ignore=tests --ignore=var --ignore=staticfiles
	$(BIN)/python manage.py makemessages -d djangojs -l en -l pl -l cs --ignore=.venv --ignore=staticfiles --ignore=var

.PHONY: help run worker beat browser mailserver test bench lint fmt messages compiled-messages
