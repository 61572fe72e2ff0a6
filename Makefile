# w2v: `make train` trains on the shipped corpus and shows neighbours; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test train clean

install: $(VENV)/.installed

# Re-run the install whenever the package metadata changes; `touch` marks success.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

train: install
	$(BIN)/w2v gradcheck

clean:
	rm -rf $(VENV) *.egg-info
