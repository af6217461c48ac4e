-- Funding trace (issue #14): every OPG Transfer typed, the address labels the trace classifies by,
-- and the eth_getCode answers that tell a contract from a plain wallet.

-- Every OPG Transfer on Base (og.payments keeps only those to a payTo address, with their x402
-- context). kind: mint (from the zero address), burn (to it), transfer (the rest).
create table og.token_transfers (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    log_index     integer     not null,
    token         text        not null,
    from_address  text        not null,
    to_address    text        not null,
    amount_raw    numeric(78,0) not null,
    amount_opg    numeric     not null,
    kind          text        not null,  -- transfer | mint | burn
    primary key (chain_id, block_number, log_index)
);
-- The trace reads the transfers into one address, in chain order, up to a position.
create index token_transfers_to on og.token_transfers (to_address, chain_id, block_number, log_index);

-- Addresses the funding trace classifies by: configuration ([chains.base] insiders / bridges /
-- markets, and pay_to as insiders) and, as insiders, every payee, facilitator and settle sender
-- the x402 payments name (source 'payments'). Replaced by `og-indexer funding` and the Base
-- backfill from the configuration and payments in force, never merged with a guess.
create table og.address_labels (
    chain_id  integer not null,
    address   text    not null,
    label     text    not null,  -- insider | bridge | market
    source    text    not null,  -- insiders | pay_to | bridges | markets (config keys) | payments
    primary key (chain_id, address, label, source)
);

-- eth_getCode of a funder: code_size 0 is an externally owned account. Read at block_number: the
-- block of the funding transfer that first needed it, or the head when the node no longer serves
-- that block's state (no archive). One row per address; a reorg at or below block_number deletes
-- the row with the block it was read at, and it is read again.
create table og.address_code (
    chain_id      integer     not null,
    address       text        not null,
    block_number  bigint      not null,
    code_size     integer     not null,
    checked_at    timestamptz not null default now(),
    primary key (chain_id, address)
);
