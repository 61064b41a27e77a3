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

.PHONY: run test lint typecheck translations extract-messages migrate seed worker clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d rights_portal/translations

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -o rights_portal/translations/messages.pot .
	$(BIN)/pybabel update -i rights_portal/translations/messages.pot -d rights_portal/translations --no-fuzzy-matching --ignore-obsolete

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) demo seed

# The portal with its worker and beat on the embedded default (SQLite + a broker on SQLite).
run: translations seed
	@echo "Starting the worker (with beat) and the portal on http://$(HOST):$(PORT) — Ctrl-C stops both."
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A workers.celery_app worker --beat --pool=solo --loglevel=INFO \
		--logfile=instance/worker.log & \
	$(FLASK) run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: translations lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
