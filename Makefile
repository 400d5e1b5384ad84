# One command to set up and run the tests, one to set up and run the demo build.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test test-only lint slow demo demo-math clean

setup: $(BIN)/tracegen

$(BIN)/tracegen: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

test: setup test-only

test-only:
	$(BIN)/python -m pytest -q -n 2

lint:  # ruff's rules and format as configured in pyproject.toml; fix with: ruff check --fix . && ruff format .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

slow: setup  # exit code 5 means no slow tests exist yet
	$(BIN)/python -m pytest -q -m slow || [ $$? -eq 5 ]

demo: setup
	$(BIN)/tracegen build --recipe gsm8k --source ../shared/data/gsm8k/train.jsonl --out out/gsm8k --overwrite
	$(BIN)/tracegen check out/gsm8k
	$(BIN)/tracegen inspect out/gsm8k --row 0

demo-math: setup  # MATH-style data (paragraph steps, LaTeX, \boxed{}), offline from the shipped sample
	$(BIN)/tracegen build --recipe math --source data/math-sample/train.jsonl --undo-unit step --out out/math --overwrite
	$(BIN)/tracegen check out/math
	$(BIN)/tracegen inspect out/math --row 0

clean:
	rm -rf out .pytest_cache
