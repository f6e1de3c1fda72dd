# Deploychecks: `make run` serves the app with demo data (embedded: SQLite,
# in-memory channel layer, in-process scheduler); `make test` runs the whole
# suite against PostgreSQL and Redis.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/deploychecks)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/1)
PYTEST_ARGS ?=

.PHONY: run test install check-services check-deploy lint mutation clean docker-check

$(BIN)/.installed: pyproject.toml requirements.lock
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	@touch $@

install: $(BIN)/.installed

# Embedded mode: unset the service URLs so a stray environment cannot point the
# demo at a real database.
run: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py migrate --no-input
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py load_demo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m deploychecks.serve --host $(HOST) --port $(PORT)

check-services: install
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python .ci/check_services.py

test: check-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	SECRET_KEY=test-secret-key-not-for-production-0123456789 \
	AUDIT_HMAC_KEY=test-audit-hmac-key-not-for-production-0123456789 \
	$(BIN)/pytest $(PYTEST_ARGS)

# Style and layers: ruff (rules in pyproject.toml), its formatter, and the
# import-linter contracts (the layers of docs/decisions.md).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Mutation testing of the decision code (the gates and grading) against its pure
# unit tests; not part of CI (about 2 minutes). Prints the share of covered
# mutants killed: docs/decisions.md explains the ones that survive.
mutation: install
	$(BIN)/pip install --quiet mutmut==3.8.1
	rm -rf mutants && mkdir -p var
	env -u DATABASE_URL -u REDIS_URL $(BIN)/mutmut run > var/mutmut.log 2>&1 || (tail -20 var/mutmut.log; false)
	@$(BIN)/mutmut results --all true 2>/dev/null | awk '{print $$NF}' | sort | uniq -c
	@$(BIN)/mutmut results --all true 2>/dev/null | awk '/killed$$/{k++} /survived$$/{s++} \
		END {printf "mutation score: %d of %d covered mutants killed (%.1f%%)\n", k, k+s, 100*k/(k+s)}'

# Django's deployment checklist with production-like settings (a throwaway key;
# nothing is connected to).
check-deploy: install
	env DEBUG=false SECURE_COOKIES=true SECURE_SSL_REDIRECT=true SECURE_HSTS_SECONDS=31536000 \
	SECURE_HSTS_PRELOAD=true DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	AUDIT_HMAC_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

docker-check:
	docker compose config -q

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
