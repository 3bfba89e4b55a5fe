# Two entry points for a fresh machine: `make demo` (set up + run the demo job) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench schema-docs clean

$(BIN)/curate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,transformers]'
	touch $@

demo: $(BIN)/curate
	$(BIN)/curate run jobs/demo.yaml

test: $(BIN)/curate
	$(BIN)/ruff check curate tests bench
	$(BIN)/pytest -q

bench: $(BIN)/curate
	$(BIN)/python bench/rules.py

schema-docs: $(BIN)/curate
	$(BIN)/curate schema docs --write

clean:
	rm -rf out .pytest_cache .ruff_cache
