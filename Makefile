# Rights Portal — the two commands of the README: `make run` and `make test`.
# Both start from nothing but Python >= 3.11 and set everything else up themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Two pytest workers, one per core; each gets its own PostgreSQL and Redis database.
PYTEST_ARGS ?= -n 2 --dist load
# Every install is exactly the lock: versions and hashes of every package, nothing resolved anew.
DEV_LOCK := requirements-dev.lock
RUNTIME_LOCK := requirements.lock
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-header --quiet \
	$(if $(UPGRADE),--upgrade)

.PHONY: install run test lint typecheck lock lock-check translations extract-messages migrate \
	seed worker clean test-servers

install: $(STAMP)

$(STAMP): pyproject.toml $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh both locks after a change to pyproject.toml, keeping every pin that still fits;
# `make lock UPGRADE=1` moves every package to its newest allowed version.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o $(DEV_LOCK)
	$(BIN)/uv pip compile pyproject.toml -c $(DEV_LOCK) $(LOCK_FLAGS) -o $(RUNTIME_LOCK)
	$(MAKE) --no-print-directory install lock-check

# Fails when pyproject.toml asks for what the locks do not pin, or .venv differs from the lock.
lock-check: $(STAMP)
	$(BIN)/python scripts/check_lock.py

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d rights_portal/translations

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -o rights_portal/translations/messages.pot .
	$(BIN)/pybabel update -i rights_portal/translations/messages.pot -d rights_portal/translations --no-fuzzy-matching --ignore-obsolete

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) demo seed

# The portal with its worker and beat on the embedded default (SQLite + a broker on SQLite),
# watched together: if the worker or beat dies, it says so and everything stops.
run: translations seed
	$(BIN)/python -m workers.supervisor --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# s3rver, the second S3 implementation the S3 store is tested against, from the npm registry
# exactly as tests/s3/package-lock.json pins it (without npm its tests are skipped, outside CI).
S3RVER_STAMP := tests/s3/node_modules/.installed

$(S3RVER_STAMP): tests/s3/package.json tests/s3/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/s3 --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the tests against s3rver will be skipped"; fi

test-servers: $(S3RVER_STAMP)

test: lock-check translations lint typecheck test-servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
