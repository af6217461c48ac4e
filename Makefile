# og-indexer: two commands from a clean clone.
#   make demo  - local devnet + embedded Postgres + simulated traffic -> index -> enrich -> demand report
#   make test  - ruff, mypy --strict, pytest (real Postgres + anvil)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ANVIL  := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
DAYS   ?= 7
SEED   ?= 42

.PHONY: demo test lint typecheck pytest install anvil clean

$(BIN)/og-indexer: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/og-indexer anvil

$(ANVIL):
	npm install --silent --no-audit --no-fund --prefix .tools @foundry-rs/anvil-linux-amd64
	test -x $(ANVIL)

anvil: $(ANVIL)

# The demo keeps its embedded Postgres in .devnet/ (git-ignored), apart from your own data.
DEMO_ENV := OG_INDEXER_HOME=$(CURDIR)/.devnet/home
demo: install
	-$(BIN)/og-indexer devnet down
	$(BIN)/og-indexer devnet up
	$(BIN)/og-indexer devnet simulate --days $(DAYS) --seed $(SEED)
	$(DEMO_ENV) $(BIN)/og-indexer --devnet reset --yes
	$(DEMO_ENV) $(BIN)/og-indexer --devnet catalog import .devnet/catalog.json
	$(DEMO_ENV) $(BIN)/og-indexer --devnet backfill --chain opengradient --from 0 --to latest
	$(DEMO_ENV) $(BIN)/og-indexer --devnet backfill --chain base --from 0 --to latest
	$(DEMO_ENV) $(BIN)/og-indexer --devnet enrich
	$(DEMO_ENV) $(BIN)/og-indexer --devnet status
	$(DEMO_ENV) $(BIN)/og-indexer --devnet report
	$(DEMO_ENV) $(BIN)/og-indexer --devnet db-info
	$(DEMO_ENV) $(BIN)/og-indexer --devnet report --format html --output .devnet/report.html

lint: install
	$(BIN)/ruff check indexer tests scripts

typecheck: install
	$(BIN)/mypy --strict indexer

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	-$(BIN)/og-indexer devnet down
	rm -rf $(VENV) .tools .devnet
