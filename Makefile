# The two entry points: `make demo` (main job) and `make test` (every gate and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
# pytest-xdist workers; the groups of tests/conftest.py keep the labs apart
TEST_WORKERS ?= 2

.PHONY: demo test venv lint typecheck unit bench bench-deploy bench-failover tempest clean

$(BIN)/tripleo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/tripleo

venv: $(BIN)/tripleo

demo: venv
	bash scripts/debian-packages
	$(BIN)/python -m tripleo.demo

lint: venv
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy src

unit: venv
	bash scripts/debian-packages
	$(BIN)/pytest -q -n $(TEST_WORKERS)

test: lint typecheck unit

bench: venv
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/lifecycle.py
	$(BIN)/python benchmarks/wallaby.py

bench-deploy: venv
	bash scripts/debian-packages
	$(BIN)/python benchmarks/deploy.py

bench-failover: venv
	bash scripts/debian-packages
	$(BIN)/python benchmarks/failover.py

# Debian's tempest against the overcloud of $TRIPLEO_HOME (ARGS: tempest run's, default --smoke)
tempest: venv
	dpkg -s tempest >/dev/null 2>&1 || apt-get install -y -q tempest
	$(BIN)/python scripts/tempest.py $(ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
