# clnet: set-up, demo and tests. Everything installs from PyPI and Maven Central.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
SCALE  ?= 1.0
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE  ?= clnet:$(VERSION)

.PHONY: setup jars browser demo test lint clean
.PHONY: package image

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

# The dashboard's browser tests drive Debian's Chromium (apt, as root); nothing downloads one.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: setup browser
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# The Python environment for spark-submit --archives (deploy/submit.sh ships it).
deploy/dist/clnet-env.tar.gz: pyproject.toml deploy/pack_env.sh $(shell find clnet_spark -name '*.py') | $(VENV)/.installed
	PACKER=$(PY) PYTHON=$(PYTHON) bash deploy/pack_env.sh $@

package: deploy/dist/clnet-env.tar.gz

# The Kubernetes image of deploy/k8s/clnet-nightly.yaml (needs `make jars` first).
image:
	docker build -f deploy/k8s/Dockerfile -t $(IMAGE) .

clean:
	rm -rf demo spark-warehouse
