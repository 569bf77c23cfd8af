# Kehu CRM — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CRM := $(BIN)/crm
export PYTHONWARNINGS ?= ignore
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || (command -v docker-compose >/dev/null && echo docker-compose))

.PHONY: help install run demo test test-unit test-sqlite test-sqlite-parallel test-serial test-postgres test-deps lint bench bench-quick chaos fuzz up down deploy-check deploy-generate clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' || { echo "Install Python 3.11 and run again (PYTHON=python3.11 make ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

install: $(BIN)/.installed  ## create the virtualenv and install (pinned)

run: install  ## bus setup, migrations, then every service and gateway (Ctrl-C stops)
	$(CRM) run

demo: install  ## load realistic demo data through the public RPC (needs `make run`)
	$(CRM) demo

test-deps:  ## system tools the suite uses: promtool, chromium + chromedriver, CJK fonts (apt when root)
	@missing=""; command -v promtool >/dev/null || missing="$$missing prometheus"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	  [ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "installing:$$missing"; \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing fonts-noto-cjk >/dev/null || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing fonts-noto-cjk >/dev/null; }; \
	    else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; fi; fi

# Parallel pytest processes (tests/support/parallel.py; not xdist, which hangs under
# eventlet): each has its own vhost, databases, tmp dirs and ports. `serial` tests
# (crm run on fixed ports, the chaos suite) run afterwards, alone. PostgreSQL takes 2
# workers: every service engine pools up to 20 connections and 3 workers went past
# max_connections=100 ("too many clients").
TEST_WORKERS ?= 3
TEST_PG_WORKERS ?= 2
PARALLEL := $(BIN)/python -m tests.support.parallel

test: install test-deps  ## everything: unit, integration (RabbitMQ; SQLite and PostgreSQL), deploy, e2e, short chaos
	@rc=0; $(MAKE) --no-print-directory -j2 test-sqlite-parallel test-postgres || rc=$$?; \
	  $(MAKE) --no-print-directory test-serial || rc=$$?; exit $$rc

test-sqlite: install  ## pytest tests on SQLite (parallel pass, then the serial tests)
	@rc=0; $(MAKE) --no-print-directory test-sqlite-parallel || rc=$$?; \
	  $(MAKE) --no-print-directory test-serial || rc=$$?; exit $$rc

test-sqlite-parallel: install
	CRM_TEST_DB=sqlite $(PARALLEL) -n $(TEST_WORKERS) tests -q -m "not serial"

test-serial: install
	CRM_TEST_DB=sqlite $(BIN)/pytest tests -q -m serial

test-postgres: install  ## tests/integration again on PostgreSQL
	CRM_TEST_DB=postgres $(PARALLEL) -n $(TEST_PG_WORKERS) tests/integration -q

test-unit: install  ## fast unit tests only
	$(BIN)/pytest tests/unit -q

lint: install  ## ruff
	$(BIN)/ruff check services tests bench

bench: install  ## benchmarks against the real stack → bench/results/latest.{json,md}
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; } || echo "wrk is not installed (apt-get install wrk): the HTTP figures (R3) will be reported as errors"
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/python -m bench

fuzz: install  ## schemathesis against every gateway of a running system (~5 min, not in CI)
	$(BIN)/pip install -q -e ".[test,fuzz]"
	$(BIN)/python -m tests.fuzz.run

bench-quick: install
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/python -m bench --quick

chaos: install  ## the full fault-injection suite (make test runs a short version)
	CRM_CHAOS_SCALE=1 $(BIN)/pytest tests/reliability -q -s

up:  ## whole stack in containers (needs a container engine)
	@test -n "$(COMPOSE)" || { echo "docker compose / docker-compose not found: see docs/operations.md"; exit 1; }
	$(COMPOSE) -f deploy/docker-compose.yml up -d --build

down:
	$(COMPOSE) -f deploy/docker-compose.yml down

deploy-check: install  ## validate deploy/ (compose, k8s schemas, promtool, dashboard, definitions)
	$(BIN)/pytest tests/deploy -q

deploy-generate: install  ## regenerate RabbitMQ definitions, k8s manifests, Grafana dashboard
	$(CRM) bus definitions --out deploy/rabbitmq/definitions.json
	$(BIN)/python deploy/k8s/generate.py
	$(BIN)/python deploy/grafana/build_dashboard.py

clean:  ## remove local state (SQLite files, attachments) — not the venv
	rm -rf var/*.db var/*.db-wal var/*.db-shm var/attachments
