# Everything a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: demo test test-fast venv lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet "$(TORCH)"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,ct2,ray]"
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

# The main job on the bundled articles: the default models when they are cached or the
# hub answers, else lead-3 (preset auto); evaluated against examples/references.jsonl.
demo: $(VENV)/.installed
	$(BIN)/newsum run examples/articles -o out/demo --preset auto \
		--references examples/references.jsonl --overwrite
	@echo "summaries: out/demo/shards/part-00000.jsonl  report: out/demo/report.html"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q

# The edit-test loop: lint, the layer contract and every test not marked slow, on two
# processes (under 60 s on 2 cores).
test-fast: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -m "not slow" -n 2

bench: $(VENV)/.installed-dev
	for b in clean generate eval run device; do $(BIN)/python benchmarks/bench_$$b.py || exit 1; done

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf out .pytest_cache
