# Fynlo backend. `make demo` sets everything up and serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv services migrate import-demo seed demo serve test test-pgbouncer bench stop-services clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## Use the configured (or machine's) PostgreSQL and Valkey, or start project-local ones; write .env
services: venv
	$(PY) scripts/services.py

migrate: services
	$(PY) manage.py migrate --no-input

## A small generated legacy export, imported the way cutover night does it (its report is shown)
import-demo: migrate
	$(PY) manage.py generate_legacy_export .local/demo-export --orders 200 --seed 7 --force
	$(PY) manage.py migrate_legacy .local/demo-export --timezone UTC --rejects .local/demo-rejects --report .local/demo-import.json

seed: import-demo
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --no-input -v0

## Set everything up, load the demo restaurant, serve it
demo: seed
	@echo ""
	@echo "Fynlo demo: http://$(HOST):$(PORT)/  (health: http://$(HOST):$(PORT)/health, admin: http://$(HOST):$(PORT)/admin/)"
	@$(PY) manage.py seed_demo --print-logins
	@echo "The README's API examples, against this server: scripts/api_examples.sh"
	@echo ""
	DEMO_SHOW_LOGINS=true $(VENV)/bin/gunicorn fynlo.wsgi:application --bind $(HOST):$(PORT) --workers 2 --worker-class gthread --threads 2 --access-logfile -

serve: migrate
	$(PY) manage.py collectstatic --no-input -v0
	$(VENV)/bin/gunicorn fynlo.wsgi:application --bind $(HOST):$(PORT) --workers 2 --worker-class gthread --threads 2 --access-logfile -

## Set everything up and run the whole suite
test: services
	$(PY) -m pytest $(PYTEST_ARGS)

## The isolation and API tests again, the runtime role's queries through a real PgBouncer (transaction mode)
PGBOUNCER_TESTS ?= tests/tenants tests/inventory tests/pos/test_orders_api.py tests/pos/test_payments_api.py \
	tests/pos/test_idempotency.py tests/staff/test_employees_api.py tests/scaling/test_pgbouncer.py
test-pgbouncer: services
	FYNLO_TEST_PGBOUNCER=1 $(PY) -m pytest $(PGBOUNCER_TESTS) -m "not browser" $(PYTEST_ARGS)

bench: migrate
	$(PY) -m bench $(BENCH_ARGS)

stop-services:
	$(PY) scripts/services.py stop

clean:
	rm -rf $(VENV) staticfiles media
