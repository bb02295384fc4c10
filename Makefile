# Two commands on a fresh machine:  `make run` (engine + demo)  and  `make test` (everything the tests need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-unit test-kafka test-exactly-once-100k typecheck docs system-deps bench clean

run: $(STAMP)
	$(BIN)/sebac serve --demo

test: $(STAMP) $(VENV)/.docs-installed system-deps
	$(BIN)/python -m pytest

# The fast run: no server, broker, browser or subprocess (tests marked `integration` are left out).
test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

# The streaming suite alone, on Apache Kafka (KRaft) started from deploy/kafka/libs by the fixtures.
test-kafka: $(STAMP) system-deps
	@echo "Apache Kafka $$(java -cp 'deploy/kafka/libs/*' kafka.Kafka --version 2>/dev/null | tail -1)"
	$(BIN)/python -m pytest tests/streaming

# the issue's full size (CI runs 2,000): hours on a 2-core machine (the embedded side), see docs/streaming.md
test-exactly-once-100k: $(STAMP) system-deps
	SEBAC_EXACTLY_ONCE_REPORTS=100000 $(BIN)/python -m pytest -s tests/streaming/test_kafka_exactly_once.py

$(STAMP): pyproject.toml console/assets.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test]"
	$(BIN)/python deploy/dev/web_assets.py
	touch $(STAMP)

# mypy over the composition, the API and the alerts stage (configured in pyproject.toml's [tool.mypy]).
typecheck: $(STAMP)
	$(BIN)/python -m mypy

# The documentation site, into site/ (its tools are installed for `make test` too: the docs tests import them): offline, and --strict (a broken link or anchor, or a docstring
# the API reference cannot render, fails the build).
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

$(VENV)/.docs-installed: $(STAMP)
	$(BIN)/pip install -e ".[docs]"
	touch $@

# Servers the integration tests start on loopback (PostgreSQL, Prometheus, a JDK and Maven) and the browser
# the console tests drive (chromium), from Debian's packages; then Apache Kafka's jars from Maven Central
# (deploy/kafka/pom.xml, fetched again only when the pom changes).
system-deps:
	bash deploy/dev/system-deps.sh
	bash deploy/kafka/fetch.sh

bench: $(STAMP)
	$(BIN)/python bench/detectors.py

clean:
	rm -rf $(VENV) data site .pytest_cache
