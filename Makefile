# w2v: `make train` trains on the shipped corpus and shows neighbours; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test train clean

install: $(VENV)/.installed

# Re-run the install whenever the package metadata changes; `touch` marks success.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,plot,mpi]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

WORDS := king water red dog music
train: install
	$(BIN)/w2v train --out vectors.bin --epochs 10
	$(BIN)/w2v similar vectors.bin $(WORDS) -n 8
	$(BIN)/w2v similar vectors.bin --analogy king man woman -n 5
	$(BIN)/w2v plot vectors.bin king queen prince princess man woman boy girl \
		red blue green yellow dog cat horse cow water milk wine coffee -o words.png

clean:
	rm -rf $(VENV) *.egg-info vectors.bin vectors.bin.json words.png
