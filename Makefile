# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and alone: the exact pin resolves to the local CPU build;
	# a looser spec would pull gigabytes of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zkcert demo

# Two workers: ezkl runs parts of every proof on one thread, so a second process fills the other core (two
# proofs at once take 0.82x the time of two in turn, results/proving/concurrency.md). tests/conftest.py groups
# the tests that share a session certificate onto one worker, so that no certificate is proved twice.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup tests

bench: $(STAMP)
	$(BIN)/python benchmarks/proving/run.py

clean:
	rm -rf $(VENV) .pytest_cache
