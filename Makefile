# Two entry points: `make run` (demo end to end) and `make test` (whole suite).
# Both create the virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS := 1
export PYTHONHASHSEED := 0
DEMO_DIR := var/demo-data
DEMO_CUSTOMERS ?= 20000

.PHONY: run test install lint bench clean

$(BIN)/recsys: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/recsys

install: $(BIN)/recsys

run: install
	$(BIN)/recsys data generate --customers $(DEMO_CUSTOMERS) --seed 7 --out $(DEMO_DIR)
	$(BIN)/recsys data validate $(DEMO_DIR)
	$(BIN)/recsys data describe $(DEMO_DIR)

test: install
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/generate_validate.py

clean:
	rm -rf $(VENV) var mlruns .pytest_cache
