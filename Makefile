# clnet: set-up, demo and tests. Everything installs from PyPI and Maven Central.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
SCALE  ?= 1.0

.PHONY: setup jars demo test lint clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11) and Java 17"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

deploy/jars.txt: deploy/jars/pom.xml $(VENV)/.installed
	PYTHON=$(PY) bash deploy/resolve_jars.sh

jars: deploy/jars.txt

setup: $(VENV)/.installed deploy/jars.txt

demo: setup
	$(VENV)/bin/clnet demo --workdir demo --scale $(SCALE)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf demo spark-warehouse
