# Two entry points for a fresh machine: `make demo` (set up + run the demo job) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench schema-docs clean browser

$(BIN)/curate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,transformers]'
	touch $@

demo: $(BIN)/curate
	$(BIN)/curate run jobs/demo.yaml

# Headless Chromium for the dashboard tests (Debian's package, driven by Playwright; never `playwright install`),
# and a CJK font so Chinese renders in the screenshots.
browser:
	@test -x $(CHROMIUM) && fc-list :lang=zh | grep -q . || { \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-wqy-microhei; } || { \
	  echo "the dashboard tests need Debian's chromium: apt-get install -y chromium fonts-wqy-microhei" >&2; exit 1; }

test: $(BIN)/curate browser
	$(BIN)/ruff check curate tests bench evals experiments annotate demo
	$(BIN)/pytest -q

bench: $(BIN)/curate
	$(BIN)/python bench/rules.py

schema-docs: $(BIN)/curate
	$(BIN)/curate schema docs --write

clean:
	rm -rf out .pytest_cache .ruff_cache
