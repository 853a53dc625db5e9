# One command to set up and run the demo, one to set up and run the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,docs,postgres,s3,xgboost,lightgbm,plots,ray,sso

.PHONY: demo test install lint docs bench clean vendor-ui

# The demo installs what a user installs (shipway and its dependencies); the tests add the
# extras and the test toolchain.
$(BIN)/.installed-demo: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@ $(BIN)/.installed-demo

install: $(BIN)/.installed

demo: $(BIN)/.installed-demo
	$(BIN)/shipway demo

test: install
	$(BIN)/ruff check src tests docs/hooks scripts $(wildcard bench)
	$(BIN)/ruff format --check src tests docs/hooks scripts $(wildcard bench)
	$(BIN)/mypy
	$(MAKE) --no-print-directory docs
	$(BIN)/pytest -q -n 2 --dist loadfile

# The documentation site, into site/; warnings (a broken link, a missing page, an API name
# that does not resolve) fail the build, so the docs cannot rot.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

lint: install
	$(BIN)/ruff check src tests docs/hooks scripts $(wildcard bench)
	$(BIN)/ruff format --check src tests docs/hooks scripts $(wildcard bench)
	$(BIN)/mypy

# Peers live in their own environment (bench/.venv), pinned in bench/requirements.txt.
bench/.venv/.installed: bench/requirements.txt pyproject.toml
	@test -x bench/.venv/bin/python || $(PYTHON) -m venv bench/.venv
	bench/.venv/bin/python -m pip install --quiet --upgrade pip
	bench/.venv/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	@touch $@

bench: bench/.venv/.installed
	cd bench && .venv/bin/python tracking.py

clean:
	rm -rf $(VENV) .shipway .pytest_cache site

# The UI's front-end libraries, fetched again at their pinned versions (needs npm; the files are
# committed, so users and CI never run this).
vendor-ui:
	bash scripts/vendor_ui.sh
