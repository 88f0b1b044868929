# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=
# pytest-xdist processes for `make test` (each with its own files, database and server);
# 0 runs the whole suite in one process.
TEST_PROCESSES ?= 2

.PHONY: install run test lint format bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Migrate, load the demo data (idempotent), then serve.
run: install
	$(BIN)/python -m app migrate
	$(BIN)/python -m app seed-demo
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

# The property-based API run in a process of its own (Schemathesis under xdist would fold its
# operations into one test), alongside the rest spread over TEST_PROCESSES; its output comes
# after. Exit 5 is pytest's "no test selected", as when PYTEST_ARGS leaves the fuzzing out.
test: install
ifeq ($(TEST_PROCESSES),0)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
else
	@log=$$(mktemp); \
	$(BIN)/python -m pytest -m fuzz $(PYTEST_ARGS) >$$log 2>&1 & fuzz=$$!; \
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile -m "not fuzz" $(PYTEST_ARGS); \
	rest=$$?; wait $$fuzz; fuzzed=$$?; \
	if [ $$fuzzed -ne 5 ]; then echo "== tests/test_api_fuzz.py, run alongside"; cat $$log; fi; \
	rm -f $$log; \
	case "$$rest:$$fuzzed" in 0:0|0:5|5:0) ;; *) exit 1 ;; esac
endif

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app scoring tests bench migrations
	$(BIN)/mypy app scoring
	$(BIN)/python -m tests.architecture

format: install
	$(BIN)/ruff format app scoring tests bench migrations
	$(BIN)/ruff check --fix .

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The long property-based API run: many more examples, and every coverage case (tests/test_api_fuzz.py).
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_COVERAGE=all \
		$(BIN)/python -m pytest tests/test_api_fuzz.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
