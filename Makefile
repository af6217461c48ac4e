# og-indexer: two commands from a clean clone.
#   make demo  - local devnet + embedded Postgres + simulated traffic -> index -> enrich -> demand report
#   make test  - ruff, mypy --strict, pytest (real Postgres + anvil)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ANVIL  := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
DAYS   ?= 7
SEED   ?= 42

.PHONY: demo test lint typecheck pytest install anvil chromium clean

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

# The HTML report's browser test drives headless Chromium (Debian package chromium). Installed here
# when missing and this user can (root with apt-get); otherwise that one test is skipped, with a
# note (under CI it fails instead).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: no chromium (apt-get install chromium): the HTML report's browser test will be skipped"

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
	$(BIN)/mypy --strict indexer scripts

pytest: install chromium
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	-$(BIN)/og-indexer devnet down
	rm -rf $(VENV) .tools .devnet
