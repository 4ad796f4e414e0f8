PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo

.PHONY: venv demo test bench docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

venv: $(STAMP)

## demo: a sample project, exported with the default policy, then validated
demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/learnexport sample $(DEMO)/project --size small --seed 7
	$(BIN)/learnexport export $(DEMO)/project --yes --output $(DEMO)/learning-export.json
	$(BIN)/learnexport validate $(DEMO)/learning-export.json
	@echo "--- export_metadata.privacy_notice:"
	@$(BIN)/python -c "import json; print(json.load(open('$(DEMO)/learning-export.json'))['export_metadata']['privacy_notice'])"

## test: the whole suite (installs the test extras first). The one browser test needs
## Debian's chromium: installed here when we are root with apt-get (as in CI); elsewhere
## it is left out with a loud note (install chromium, then run make test again).
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || true; }
	@if command -v chromium >/dev/null 2>&1; then \
	  $(BIN)/python -m pytest -q; \
	else \
	  echo "NOTE: chromium is not installed: the HTML dashboard browser test is left out"; \
	  $(BIN)/python -m pytest -q -m "not browser"; \
	fi

## bench: speed and memory against the targets (bench/run.py; writes bench/results/)
bench: $(STAMP)
	$(BIN)/python bench/run.py

## docs: regenerate docs/policy-reference.md from the action modules
docs: $(STAMP)
	$(BIN)/python -m learnexport.docgen docs/policy-reference.md

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/python -m ruff check engine tests

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
