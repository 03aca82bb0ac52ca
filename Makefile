# Every target works on a fresh machine: it installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	$(PY) -m tests.replica.demo

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not integration"

bench: install
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) bench/extract.py

clean:
	rm -rf $(VENV) output/articles output/rejects output/runs output/failures output/.state \
		output/checks output/alerts output/schedule output/report.html
