# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export FLASK_APP := app:create_app

.PHONY: run test bench lint install

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m app.devserver

# PYTEST_ARGS narrows a run, e.g. make test PYTEST_ARGS="-m smoke"
test: $(VENV)/.installed
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench $(BENCH)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check app tests bench
