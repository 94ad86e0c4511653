# Every target sets up .venv first, so a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
comma := ,
# With CRMCOUNTERS_PG_DSN set, the PostgreSQL driver (the `postgres` extra) is installed too.
EXTRAS ?= $(if $(CRMCOUNTERS_PG_DSN),dev$(comma)postgres,dev)
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: demo serve venv venv-py test test-py lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/crmcounters demo

# The explorer over the sample portal, on http://127.0.0.1:8765/ until Ctrl+C.
serve: $(STAMP)
	$(BIN)/crmcounters serve

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

# The suite runs on every core (pytest-xdist): much of it waits on subprocesses, PostgreSQL
# and the browser. PYTEST_ARGS= runs it in one process; PYTEST_ARGS="-n 0 -x" and the like.
PYTEST_ARGS ?= -n auto --dist worksteal

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite on another Python, in a venv of its own beside .venv (.venv-3.13 for 3.13), e.g.
# `make test-py PY=/root/.pyenv/versions/3.13.0/bin/python`. Only pytest: ruff and mypy judge
# the source, not the interpreter, so `make test` runs them once.
# `make venv-py PY=...` only sets that venv up.
test-py: PY_TARGET = pytest
venv-py: PY_TARGET = venv
test-py venv-py:
	@test -n "$(PY)" || { echo "$@: name the interpreter, e.g. PY=python3.13" >&2; exit 2; }
	@ver="$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
	    || { echo "$@: $(PY) does not run" >&2; exit 2; }; \
	$(MAKE) --no-print-directory $(PY_TARGET) PYTHON="$(PY)" VENV=".venv-$$ver"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache .hypothesis
