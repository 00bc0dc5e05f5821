# guanxi: the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GUANXI_HOME ?= $(CURDIR)/var
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_SIZE ?= small

.PHONY: run test check venv dev-venv clean messages

$(BIN)/guanxi: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/guanxi pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/guanxi
dev-venv: $(VENV)/.dev

## Set up, create the SQLite database, load demo data and serve at http://127.0.0.1:8000
run: $(BIN)/guanxi
	$(BIN)/guanxi demo --size $(DEMO_SIZE) --serve --host $(HOST) --port $(PORT)

## Every check (format, lint, types, import contracts, Django checks) and the whole test suite
test: $(VENV)/.dev
	@scripts/install-test-packages
	$(MAKE) --no-print-directory check
	$(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

check: $(VENV)/.dev
	$(BIN)/ruff format --check guanxi
	$(BIN)/ruff check guanxi
	$(BIN)/lint-imports
	$(BIN)/mypy guanxi
	$(BIN)/guanxi check --fail-level WARNING
	$(BIN)/guanxi makemigrations --check --dry-run

## Refresh the translation catalogue after adding strings (needs GNU gettext), then translate
messages: $(VENV)/.dev
	cd guanxi && ../$(BIN)/guanxi makemessages -l zh_Hans --no-obsolete \
		--ignore 'analytics/*' --ignore '*/tests/*' --ignore 'tests/*' \
		&& ../$(BIN)/guanxi compilemessages

clean:
	rm -rf $(VENV) var
