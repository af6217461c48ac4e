-- Where each watched contract's history begins: its first block with code, found once by bisecting
-- eth_getCode (indexer/history.py). One row per (chain, address). first_block is NULL when it could
-- not be found (method no_code: no code at searched_to, e.g. a precompile; method no_history: the
-- provider serves no historical state); such rows are searched again on the next start.
create table og.contract_starts (
    chain_id     integer     not null,
    address      text        not null,
    first_block  bigint,
    searched_to  bigint      not null,
    method       text        not null check (method in ('bisection', 'no_code', 'no_history')),
    note         text        not null,
    calls        integer     not null,
    searched_at  timestamptz not null default now(),
    primary key (chain_id, address)
);
comment on table og.contract_starts is
    'First block with code per watched contract (eth_getCode bisection); backfill and run start at the earliest.';
