"""Where history begins, from what is known per address: the earliest first block, or the configured
start when any watched address's start is unknown; applied per contract."""

from __future__ import annotations

from dataclasses import replace

from indexer.config import BASE, LOGS_WATCH
from indexer.history import FOUND, NO_CODE, NO_HISTORY, ContractStart, HistoryStart, _chain_start, apply
from indexer.sync import addresses_for

TOKEN, UPTO, EXACT = (BASE.addresses_with_role(r)[0].lower() for r in ("token", "x402_upto", "x402_exact"))
# Base with the proxies fetched by eth_getLogs (the built-in profile reads them in our transactions only).
WATCHING = replace(BASE, contracts=tuple(replace(c, logs=LOGS_WATCH) for c in BASE.contracts))


def _found(address: str, block: int) -> ContractStart:
    return ContractStart(address, block, 10_000, FOUND, f"first code at block {block}", 14)


def test_the_chain_begins_at_its_earliest_contract_and_each_contract_at_its_own() -> None:
    starts = [_found(TOKEN, 1200), _found(UPTO, 1350), _found(EXACT, 1400)]
    block, reason = _chain_start(WATCHING, starts)
    assert block == 1200 and "opg_token" in reason and TOKEN in reason
    chain = apply(WATCHING, HistoryStart("base", block, reason, tuple(starts)))
    assert chain.start_block == 1200
    assert addresses_for(chain, 0, 1199) == []
    assert addresses_for(chain, 1200, 1349) == [TOKEN]
    assert addresses_for(chain, 1200, 1400) == sorted([TOKEN, UPTO, EXACT])


def test_an_unknown_start_keeps_the_configured_one_and_says_why() -> None:
    starts = [
        _found(TOKEN, 1200),
        ContractStart(UPTO, None, 10_000, NO_CODE, "no code at block 10000: a precompile, …"),
        ContractStart(EXACT, None, 10_000, NO_HISTORY, "the provider serves no historical state: …"),
    ]
    block, reason = _chain_start(replace(WATCHING, start_block=7), starts)
    assert block == 7
    assert "start_block 7" in reason and UPTO in reason and "no historical state" in reason
    chain = apply(WATCHING, HistoryStart("base", 0, reason, tuple(starts)))
    assert addresses_for(chain, 0, 1199) == sorted([UPTO, EXACT])  # an unknown start hides nothing


def test_a_configured_start_above_the_found_one_wins() -> None:
    block, _ = _chain_start(replace(BASE, start_block=5000), [_found(a, 1200) for a in (TOKEN, UPTO, EXACT)])
    assert block == 5000


def test_contracts_read_in_our_transactions_neither_set_the_start_nor_are_asked_for_by_address() -> None:
    # The built-in Base profile: the proxies' logs are read in the payment transactions, which the
    # token's logs name; only the token is searched, and it alone sets where history begins.
    chain = apply(BASE, HistoryStart("base", 1200, "first code of opg_token", (_found(TOKEN, 1200),)))
    assert chain.start_block == 1200
    assert addresses_for(chain, 1200, 1400) == [TOKEN]
    assert addresses_for(chain, 1200, 1400, in_read_transactions=True) == sorted([UPTO, EXACT])
    assert addresses_for(WATCHING, 0, 10, in_read_transactions=True) == []
