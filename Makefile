# w2v: `make train` trains on the shipped corpus and shows neighbours; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test train clean bench-pword2vec

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

# Issue 18's table: w2v (--combine 1 and its default), gensim and Intel's pWord2Vec, 1 epoch, 1 and
# 2 threads, the shipped corpus as it is and in short lines. pWord2Vec is built from a clone given
# as PWORD2VEC_SRC, with MKL from PyPI (mkl-devel, about 1 GB) in PWORD2VEC_MKL, as published;
# PWORD2VEC_MKL= builds its plain loops instead. Neither becomes a dependency of w2v.
PWORD2VEC_MKL ?= $(VENV)/mkl
bench-pword2vec: install
	@test -n "$(PWORD2VEC_SRC)" || { echo "usage: make bench-pword2vec PWORD2VEC_SRC=path/to/a/clone/of/pWord2Vec" >&2; exit 2; }
	$(if $(PWORD2VEC_MKL),test -f $(PWORD2VEC_MKL)/include/mkl.h || { $(PYTHON) -m venv $(PWORD2VEC_MKL) && $(PWORD2VEC_MKL)/bin/pip install --quiet --disable-pip-version-check mkl-devel; })
	scripts/build_pword2vec.sh $(PWORD2VEC_SRC) $(VENV)/pword2vec $(if $(PWORD2VEC_MKL),--mkl $(PWORD2VEC_MKL))
	$(BIN)/python scripts/bench.py --epochs 1 --short-lines --fma --pword2vec $(VENV)/pword2vec/pWord2Vec \
		--combine 1,$$($(BIN)/python -c 'from w2v.config import DEFAULT_COMBINE; print(DEFAULT_COMBINE)')

clean:
	rm -rf $(VENV) *.egg-info vectors.bin vectors.bin.json words.png
