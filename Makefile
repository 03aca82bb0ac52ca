# Every target works on a fresh machine: it installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CRAWL_STAMP := $(VENV)/.installed-crawl

.PHONY: install install-crawl demo test test-fast bench clean

# Development and tests: the crawler with the `test` extra of pyproject.toml.
install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "make install: the crawler, its dependencies and the test extras (pytest, hypothesis, duckdb, pandas, jsonschema, scrapyd) into $(VENV)/; a few minutes on a fresh machine"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# A crawl host: the crawler and the dependencies it runs with, no test extras.
install-crawl: $(CRAWL_STAMP)

$(CRAWL_STAMP): pyproject.toml
	@echo "make install-crawl: the crawler and its dependencies (no test extras) into $(VENV)/; a few minutes on a fresh machine"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(CRAWL_STAMP)

demo: install
	$(PY) -m tests.replica.demo

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not integration"

bench: install
	@echo "make bench: installing the benchmark extras (trafilatura, GNE), then bench/extract.py"
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) bench/extract.py

clean:
	rm -rf $(VENV) output/articles output/rejects output/runs output/failures output/.state \
		output/checks output/alerts output/schedule output/report.html
