# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck docs clean fuzz

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/econplan plan --out out

test: $(STAMP) lint typecheck
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests $(wildcard bench)
	$(VENV)/bin/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# docs/format.md is generated from the schema; a test fails when it is stale.
docs: $(STAMP)
	$(VENV)/bin/econplan docs docs/format.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

# The long fuzzing run (docs/robustness.md): FUZZ_CASES cases of seed FUZZ_SEED.
FUZZ_CASES ?= 10000
FUZZ_SEED ?= 0
FUZZ_WORKERS ?= 1
fuzz: $(STAMP)
	$(PY) bench/fuzz.py --cases $(FUZZ_CASES) --seed $(FUZZ_SEED) --workers $(FUZZ_WORKERS) --keep fuzz-failures
