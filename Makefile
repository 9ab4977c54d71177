# The two commands of the README: `make demo` and `make test` (and `make figures`: the gallery in docs/figures.md).
# Each creates the virtual environment .venv on first use and installs neurobox into it.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench bench-microcircuit figures

demo: $(STAMP)
	$(VENV)/bin/neurobox demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m slow

bench: $(STAMP)
	bash benchmarks/setup_peers.sh
	$(VENV)/bin/python benchmarks/run_benchmarks.py
	$(VENV)/bin/python benchmarks/microcircuit.py
	$(VENV)/bin/python benchmarks/compile_time.py
	$(VENV)/bin/python benchmarks/nest_backend.py
	$(VENV)/bin/python benchmarks/sweep.py

bench-microcircuit: $(STAMP)
	bash benchmarks/setup_peers.sh
	$(VENV)/bin/python benchmarks/microcircuit.py

figures: $(STAMP)
	$(VENV)/bin/python docs/make_figures.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[test,exchange,cluster,nest,kit]"
	touch $(STAMP)
