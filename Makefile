# Two entry points: `make run` (demo end to end) and `make test` (whole suite).
# Both create the virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS := 1
export PYTHONHASHSEED := 0
DEMO_DIR := var/demo-data
DEMO_CUSTOMERS ?= 20000
# the model is chosen, tuned and blended by `recsys train --model auto` in this budget
DEMO_BUDGET ?= 1m
DEMO_SHOW ?= C00000001 C00000002 NEW-CUSTOMER

.PHONY: run test install lint bench clean

PROTOS := $(shell find protos -name '*.proto')

$(BIN)/recsys: pyproject.toml $(PROTOS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m serving.codegen
	touch $(BIN)/recsys

install: $(BIN)/recsys

# The popularity baseline is registered first; the model `auto` chooses must then beat it
# (and the strongest simple baseline) to become champion. A second `make run` on the same data, config and code trains nothing and keeps the
# champion (--skip-unchanged says so). Exit 3 from `recsys train` is the gate refusing a
# candidate the champion beats (it prints why): the demo goes on; any other failure stops it.
# It ends serving the champion on localhost:$PORT (default 50051) until Ctrl-C, after printing
# a few suggestions through the gRPC client (scripts/demo_serve.sh).
TRAIN := $(BIN)/recsys train --data $(DEMO_DIR) --register --promote --skip-unchanged
NOT_PROMOTED := 3
run: install
	$(BIN)/recsys data generate --customers $(DEMO_CUSTOMERS) --seed 7 --out $(DEMO_DIR)
	$(BIN)/recsys data validate $(DEMO_DIR)
	$(BIN)/recsys data describe $(DEMO_DIR)
	$(TRAIN) --model popularity || [ $$? -eq $(NOT_PROMOTED) ]
	$(TRAIN) --model auto --budget $(DEMO_BUDGET) || [ $$? -eq $(NOT_PROMOTED) ]
	$(BIN)/recsys models list
	BIN=$(BIN) DEMO_SHOW="$(DEMO_SHOW)" scripts/demo_serve.sh

test: install
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/generate_validate.py

clean:
	rm -rf $(VENV) var mlruns .pytest_cache
