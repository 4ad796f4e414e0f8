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
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

## test: the whole suite (installs the test extras first)
test: $(STAMP)
	$(BIN)/python -m pytest -q

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
