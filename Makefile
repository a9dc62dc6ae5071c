# make book: build the HTML book.   make test: unit tests + every chapter at the smoke budget.
# Both create .venv and install requirements.txt and the package on first use (and again
# whenever requirements.txt or pyproject.toml change).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Read the offline data mirror beside the project when it exists and nobody chose another.
ifeq ($(origin RNNBOOK_DATA), undefined)
ifneq ($(wildcard ../shared/data),)
export RNNBOOK_DATA := $(abspath ../shared/data)
endif
endif

.PHONY: book test lint chapter lab clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# RNNBOOK_BUILD=1: a false claim stops the build, and no progress widgets go into the pages.
# MPLBACKEND is unset so that the kernels draw inline: with Agg, plt.show() draws nothing.
book: $(STAMP)
	env -u MPLBACKEND RNNBOOK_BUILD=1 RNNBOOK_BUDGET=$${RNNBOOK_BUDGET:-cpu} $(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python scripts/colab_edition.py _build
	@echo "The book: $(abspath _build/html/index.html)"

test: $(STAMP)
	RNNBOOK_BUILD=1 RNNBOOK_BUDGET=smoke MPLBACKEND=Agg $(BIN)/python -m pytest -q --nbval-lax tests book

lint: $(STAMP)
	$(BIN)/ruff check rnnbook tests book scripts

# Run one chapter as the book build does, and print its time and text outputs:
#   make chapter NB=book/lstm.ipynb   (cpu budget unless RNNBOOK_BUDGET says otherwise)
chapter: $(STAMP)
	RNNBOOK_BUDGET=$${RNNBOOK_BUDGET:-cpu} MPLBACKEND=Agg $(BIN)/python scripts/run_chapter.py $(NB)

# Open the chapters in JupyterLab (installed into .venv on first use; not needed for the book).
lab: $(STAMP)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install -q --disable-pip-version-check jupyterlab==4.6.6
	$(BIN)/jupyter-lab book/

clean:
	rm -rf _build
